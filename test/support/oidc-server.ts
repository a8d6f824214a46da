/**
 * A real, standards-compliant OAuth 2.0 / OpenID Connect server (`oidc-provider`) for e2e tests of
 * custom providers, plus a tiny cookie-keeping "browser" that signs in and consents through its
 * development interactions (plain HTML forms) exactly as a person would, over HTTP.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../libs/temporal/dev-server';

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

/**
 * Starts oidc-provider on 127.0.0.1 with one confidential client (client_secret_post, PKCE S256
 * required, authorization_code + refresh_token) and users whose claims carry a custom `org_id`,
 * released with the `org` scope. Logins are the keys of `users`; any password is accepted.
 */
export async function startOidcServer(opts: { redirectUri: string; users: Record<string, OidcUser> }): Promise<OidcServer> {
  const { default: Provider } = await import('oidc-provider');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = `acme-client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    pkce: { required: () => true },
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test-rs256' }] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile', 'org'],
    claims: { openid: ['sub'], profile: ['name'], org: ['org_id'] },
    issueRefreshToken: async () => true,
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86_400 },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, sub: string) {
      const user = opts.users[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, name: user.name, org_id: user.orgId }) };
    },
  });
  const handle = provider.callback();
  const requests: OidcServer['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: new URL(req.url ?? '/', issuer).pathname, authorization: req.headers.authorization });
    handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('oidc server bound to an unexpected port');
  return {
    issuer,
    clientId,
    clientSecret,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
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
