/**
 * A real, standards-compliant OAuth 2.0 / OpenID Connect server (`oidc-provider`) for e2e tests of
 * custom providers, plus a tiny cookie-keeping "browser" that signs in and consents through its
 * development interactions (plain HTML forms) exactly as a person would, over HTTP.
 *
 * oidc-provider itself runs in a child process (test/support/oidc-server-process.ts, from dist/):
 * it is ESM-only, which jest's module system cannot load. Clients reach it through a small proxy in
 * the test process, which records every request as it arrives.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { spawnService, type ServiceProcess } from '../../libs/dev/service-process';
import { freePort } from '../../libs/temporal/dev-server';
import type { OidcServerProcessOptions } from './oidc-server-process';
import { DIST } from './paths';
import { TEST_PEER_HOST, testPeerUrl } from './test-network';

export interface OidcUser {
  name: string;
  /** The organisation the user belongs to: the `org_id` claim. */
  orgId: string;
}

export interface OidcServer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** `METHOD /path` of every request the server received, in order. */
  requests: Array<{ method: string; path: string; authorization?: string }>;
  close(): Promise<void>;
}

/** Hop-by-hop headers: they describe one connection, so the proxy does not pass them on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

function endToEndHeaders(rawHeaders: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

/** Spawns the oidc-provider process and resolves with the port it listens on. */
async function spawnOidcProcess(opts: OidcServerProcessOptions): Promise<{ service: ServiceProcess; port: number }> {
  const script = path.join(DIST, 'test', 'support', 'oidc-server-process.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const output: string[] = [];
  const env = { ...process.env, OIDC_SERVER_OPTIONS: JSON.stringify(opts) };
  let service: ServiceProcess | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    service = spawnService('oidc-server', script, env, (_name, line) => {
      output.push(line);
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    // Ignored once the port is known (a promise settles once): the exit of close() is expected.
    service.child.once('exit', (code) => reject(new Error(`oidc server exited (code ${code}) before listening:\n${output.slice(-30).join('\n')}`)));
  });
  return { service: service!, port };
}

/**
 * Starts oidc-provider with one confidential client (client_secret_post, PKCE S256 required,
 * authorization_code + refresh_token) and users whose claims carry a custom `org_id`, released
 * with the `org` scope. Logins are the keys of `users`; any password is accepted. Its clients
 * reach it on the tests' allow-listed loopback address (test-network.ts), through the proxy; the
 * process itself listens on 127.0.0.1, which only the proxy talks to.
 */
export async function startOidcServer(opts: { redirectUri: string; users: Record<string, OidcUser> }): Promise<OidcServer> {
  const port = await freePort();
  const issuer = testPeerUrl(port);
  const clientId = `acme-client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  const upstream = await spawnOidcProcess({ issuer, clientId, clientSecret, redirectUri: opts.redirectUri, users: opts.users });

  const requests: OidcServer['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: new URL(req.url ?? '/', issuer).pathname, authorization: req.headers.authorization });
    // The Host header goes through unchanged: oidc-provider sees the issuer's host, as if reached directly.
    const forwarded = http.request(
      { host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: endToEndHeaders(req.rawHeaders) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.rawHeaders));
        answer.pipe(res);
      },
    );
    forwarded.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`oidc server unreachable: ${err.message}`);
    });
    req.pipe(forwarded);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, TEST_PEER_HOST, () => resolve());
    });
    if ((server.address() as AddressInfo).port !== port) throw new Error('oidc server bound to an unexpected port');
  } catch (err) {
    await upstream.service.stop(5000);
    throw err;
  }
  return {
    issuer,
    clientId,
    clientSecret,
    requests,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await upstream.service.stop(5000);
    },
  };
}

/** A minimal browser: follows nothing by itself, keeps cookies per host (name=value only). */
export class Browser {
  private readonly jars = new Map<string, Map<string, string>>();

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const jar = this.jars.get(target.host) ?? new Map<string, string>();
    this.jars.set(target.host, jar);
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attrs] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=.*1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }
}

/**
 * The person at the OIDC server: opens `authorizeUrl`, signs in as `login`, approves the consent
 * screen, and stops at the redirect back to `redirectUri` (returned, not followed).
 */
export async function signInAndConsent(authorizeUrl: string, login: string, redirectUri: string, browser = new Browser()): Promise<string> {
  let url = authorizeUrl;
  const seen: string[] = [];
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(`${redirectUri}?`)) return url;
    seen.push(url);
    const res = await browser.fetch(url);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      url = new URL(res.headers.get('location')!, url).toString();
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`OIDC server answered ${res.status} at ${url}: ${html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(html)?.[1];
    const prompt = /name="prompt" value="(login|consent)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no login or consent form at ${url}: ${html.slice(0, 500)}`);
    const form: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any-password' } : { prompt };
    const submitted = await browser.fetch(new URL(action.replace(/&amp;/g, '&'), url).toString(), { form });
    await submitted.arrayBuffer();
    if (submitted.status < 300 || submitted.status >= 400) throw new Error(`${prompt} form answered ${submitted.status}`);
    url = new URL(submitted.headers.get('location')!, url).toString();
  }
  throw new Error(`no redirect to ${redirectUri} after ${seen.length} steps: ${seen.join(' -> ')}`);
}
