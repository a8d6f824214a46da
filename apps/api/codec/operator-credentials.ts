import { createHash, timingSafeEqual } from 'node:crypto';
import * as oauth from 'oauth4webapi';

/**
 * Who may use the payload codec: operators, never tenants. The codec opens every tenant's history
 * with one key ring, so a tenant API key (which only ever speaks for its own tenant) is refused.
 * Accepted: a key of OPERATOR_API_KEYS, or, when an OIDC issuer is configured, a JWT access token
 * of that issuer for the configured audience (what the Temporal UI sends with "pass access token").
 */
export type OperatorCheck =
  | { outcome: 'operator'; via: 'operator_key' | 'access_token' }
  | { outcome: 'missing' }
  | { outcome: 'invalid_token'; reason: string }
  | { outcome: 'not_operator' };

export interface OperatorCredentialSettings {
  operatorApiKeys?: readonly string[];
  codecOidcIssuer?: string;
  codecOidcAudience?: string;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** Three base64url parts: a JWS compact serialization (operator keys never look like that). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Loopback issuers (a local IdP in development and tests) may be plain http; anything else must be https. */
function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** Verifies RFC 9068 JWT access tokens of one issuer; its metadata (and through it the JWKS) is fetched once. */
export class OidcAccessTokenVerifier {
  private readonly issuer: URL;
  private server?: Promise<oauth.AuthorizationServer>;

  constructor(
    issuer: string,
    private readonly audience: string,
  ) {
    this.issuer = new URL(issuer);
  }

  private options(): { [oauth.allowInsecureRequests]?: boolean; signal: AbortSignal } {
    return { ...(isLoopback(this.issuer) ? { [oauth.allowInsecureRequests]: true } : {}), signal: AbortSignal.timeout(10_000) };
  }

  private authorizationServer(): Promise<oauth.AuthorizationServer> {
    this.server ??= oauth
      .discoveryRequest(this.issuer, { algorithm: 'oidc', ...this.options() })
      .then((response) => oauth.processDiscoveryResponse(this.issuer, response))
      .catch((error: unknown) => {
        // Not cached: the next request tries the issuer again.
        this.server = undefined;
        throw error;
      });
    return this.server;
  }

  /** The token's claims, or an Error saying why it is not acceptable. */
  async verify(accessToken: string): Promise<oauth.JWTAccessTokenClaims> {
    const as = await this.authorizationServer();
    // oauth4webapi reads the token from a resource request, as the protected resource receives it.
    const request = new Request('http://codec.invalid/', { headers: { authorization: `Bearer ${accessToken}` } });
    return oauth.validateJwtAccessToken(as, request, this.audience, this.options());
  }
}

export class OperatorCredentials {
  private readonly keyDigests: readonly Buffer[];
  private readonly oidc?: OidcAccessTokenVerifier;

  constructor(settings: OperatorCredentialSettings) {
    this.keyDigests = (settings.operatorApiKeys ?? []).map(digest);
    if (settings.codecOidcIssuer) {
      if (!settings.codecOidcAudience) throw new Error('CODEC_OIDC_ISSUER is set but CODEC_OIDC_AUDIENCE is not: access tokens cannot be checked without an audience');
      this.oidc = new OidcAccessTokenVerifier(settings.codecOidcIssuer, settings.codecOidcAudience);
    }
  }

  /**
   * Compares digests (equal length by construction) in constant time, and against every key, so
   * that neither the time taken nor an early exit tells how much of a guess was right.
   */
  isOperatorKey(presented: string): boolean {
    const candidate = digest(presented);
    let match = false;
    for (const known of this.keyDigests) match = timingSafeEqual(candidate, known) || match;
    return match;
  }

  /** Checks an `Authorization` header. */
  async check(authorization: string | undefined): Promise<OperatorCheck> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!bearer) return { outcome: 'missing' };
    if (this.isOperatorKey(bearer)) return { outcome: 'operator', via: 'operator_key' };
    if (this.oidc && JWT_SHAPE.test(bearer)) {
      try {
        await this.oidc.verify(bearer);
        return { outcome: 'operator', via: 'access_token' };
      } catch (error) {
        return { outcome: 'invalid_token', reason: error instanceof Error ? error.message : 'invalid access token' };
      }
    }
    return { outcome: 'not_operator' };
  }
}
