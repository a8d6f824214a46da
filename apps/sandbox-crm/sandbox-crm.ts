import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SETTINGS } from '../../libs/config/settings';
import { translateBodyParseErrors } from './common/body-parse-errors';
import { SandboxCrmModule } from './sandbox-crm.module';

export interface SandboxCrmOptions {
  /** TCP port; 0 picks a free one (read the real one from `url`/`port`). Default 4010. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1: the emulator has an unauthenticated admin API. */
  host?: string;
  /** Log everything; default: warnings and errors only (it runs inside test output). */
  verboseLogs?: boolean;
}

export interface SandboxCrm {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:4010`. */
  url: string;
  port: number;
  /** Stops listening and drops open connections (including keep-alive ones). */
  close(): Promise<void>;
}

export const DEFAULT_SANDBOX_CRM_PORT = SETTINGS.SANDBOX_CRM_PORT.fallback;
export const DEFAULT_SANDBOX_CRM_HOST = SETTINGS.SANDBOX_CRM_HOST.fallback;

/** Starts a sandbox CRM HTTP server with fresh in-memory state. Several may run in one process. */
export async function createSandboxCrm(options: SandboxCrmOptions = {}): Promise<SandboxCrm> {
  const host = options.host ?? DEFAULT_SANDBOX_CRM_HOST;
  const app = await NestFactory.create<NestExpressApplication>(SandboxCrmModule, {
    logger: options.verboseLogs ? ['error', 'warn', 'log', 'debug', 'verbose'] : ['error', 'warn'],
    // Registered by hand below so body-parser errors can be translated right after parsing.
    bodyParser: false,
    // Test clients keep connections alive; without this, close() would wait for them to idle out.
    forceCloseConnections: true,
    // Throw instead of exiting the process when embedded in a test run.
    abortOnError: false,
  });
  app.useBodyParser('json', { limit: '1mb' });
  // OAuth token endpoints and the consent form are application/x-www-form-urlencoded. Repeated
  // fields (`scope=a&scope=b`) arrive as arrays.
  app.useBodyParser('urlencoded', { limit: '1mb', extended: false });
  app.use(translateBodyParseErrors);

  try {
    await app.listen(options.port ?? DEFAULT_SANDBOX_CRM_PORT, host);
  } catch (error) {
    await app.close();
    throw error;
  }

  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => app.close(),
  };
}
