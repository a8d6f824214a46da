import { Injectable } from '@nestjs/common';
import { constantTimeEqual } from '../common/constant-time-equal';
import { OAuthClientsService } from './oauth-clients.service';
import { OAuthClient, TokenFailure, TokenFailureReason } from './oauth-model';
import { RawParams, single } from './oauth-params';
import { OAuthShape } from './oauth-shapes';

export type ClientAuthentication = { client: OAuthClient } | { failure: Omit<TokenFailure, 'grantType'> };

/**
 * Who is calling the token (or revocation) endpoint: `client_id`/`client_secret` in the body, or
 * HTTP Basic credentials (RFC 6749 §2.3.1). When both are sent they must agree.
 */
@Injectable()
export class ClientAuthenticationService {
  constructor(private readonly clients: OAuthClientsService) {}

  authenticate(shape: OAuthShape, params: RawParams, authorization: string | undefined): ClientAuthentication {
    const basic = parseBasicAuthorization(authorization);
    const bodyId = single(params, 'client_id');
    const bodySecret = single(params, 'client_secret');
    let clientId: string | undefined;
    let secret: string | undefined;
    if (basic) {
      if (bodyId !== undefined && bodyId !== basic.id) return invalidClient('client_mismatch', 'client_id in the body does not match the HTTP Basic credentials');
      if (bodySecret !== undefined && bodySecret !== basic.secret) return invalidClient('client_mismatch', 'client_secret in the body does not match the HTTP Basic credentials');
      clientId = basic.id;
      secret = basic.secret;
    } else {
      clientId = bodyId;
      secret = bodySecret;
    }
    if (!clientId || secret === undefined) {
      return invalidClient('client_auth_missing', 'Client authentication is missing: send client_id and client_secret in the body or as HTTP Basic credentials');
    }
    const client = this.clients.find(clientId);
    if (!client || client.provider !== shape.provider) return invalidClient('client_unknown', `Unknown client_id "${clientId}"`);
    if (!constantTimeEqual(secret, client.clientSecret)) return invalidClient('client_secret_wrong', 'Client authentication failed: wrong client_secret');
    return { client };
  }
}

function invalidClient(reason: TokenFailureReason, description: string): ClientAuthentication {
  return { failure: { error: 'invalid_client', reason, description } };
}

/**
 * `Authorization: Basic base64(id:secret)`, where id and secret are form-urlencoded first
 * (RFC 6749 §2.3.1). Undecodable percent-escapes fall back to the raw text.
 */
function parseBasicAuthorization(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
