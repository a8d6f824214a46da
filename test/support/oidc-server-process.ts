/**
 * The OIDC server of test/support/oidc-server.ts, run as its own process: `oidc-provider` is
 * ESM-only and pulls in koa and many more ESM packages, which jest's module system cannot load,
 * so the test process never imports it. Spawned from its compiled copy in dist/ with its options
 * as JSON in OIDC_SERVER_OPTIONS; prints `listening <port>` once it accepts connections.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcServerProcessOptions {
  /** The URL clients use: the recording proxy in the test process, not this server's own port. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Logins and their claims: `org_id` is released with the `org` scope. */
  users: Record<string, { name: string; orgId: string }>;
}

async function main(opts: OidcServerProcessOptions): Promise<void> {
  const { default: Provider } = await import('oidc-provider');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(opts.issuer, {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
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
  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main(JSON.parse(process.env.OIDC_SERVER_OPTIONS ?? '{}') as OidcServerProcessOptions).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
