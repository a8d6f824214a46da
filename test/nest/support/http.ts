/**
 * A Nest app from a testing module, set up the way apps/api/main.ts sets up the real one (error
 * filter, validation pipe, security headers, JSON body handling), listening on a free loopback port
 * and called with node's fetch, set up by the same configureApiApp as main.ts.
 */
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { TestingModule } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configureApiApp } from '../../../apps/api/configure-app';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { testConfig } from './fixtures';

export interface RunningApi {
  app: NestExpressApplication;
  url: string;
  close(): Promise<void>;
}

/** The app as main.ts sets it up, with the test module's config (or the fixed test config when it has none). */
export function configureLikeMain(app: NestExpressApplication): void {
  let cfg: AppConfig;
  try {
    cfg = app.get<AppConfig>(APP_CONFIG, { strict: false });
  } catch {
    cfg = testConfig();
  }
  configureApiApp(app, cfg);
}

export async function listenOnFreePort(app: INestApplication): Promise<string> {
  await app.init();
  const server = app.getHttpServer() as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startApi(moduleRef: TestingModule, configure: (app: NestExpressApplication) => void = configureLikeMain): Promise<RunningApi> {
  // Quiet: the error filter logs 5xx causes through Nest's Logger; tests that care spy on it.
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  configure(app);
  const url = await listenOnFreePort(app);
  return { app, url, close: () => app.close() };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  body: T;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** Serialised as JSON (Content-Type: application/json). */
  json?: unknown;
  /** Sent as is, with the headers given. */
  raw?: string;
  headers?: Record<string, string>;
}

export async function call(baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** The API's one error shape, exactly: `{"error":{"code","message"}}` and nothing else. */
export function expectErrorShape(res: ApiResponse, status: number, code: string, message?: string | RegExp): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(Object.keys(res.body.error).sort()).toEqual(['code', 'message']);
  expect(typeof res.body.error.message).toBe('string');
  if (typeof message === 'string') expect(res.body.error.message).toBe(message);
  else if (message) expect(res.body.error.message).toMatch(message);
}
