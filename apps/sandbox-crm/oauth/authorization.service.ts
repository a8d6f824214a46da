import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AccountsStore } from '../accounts/accounts.store';
import { Account, User } from '../accounts/crm-model';
import { OAuthClientsService } from './oauth-clients.service';
import {
  AUTHORIZATION_CODE_PREFIX,
  AUTHORIZATION_CODE_TTL_MS,
  AuthorizationCode,
  OAuthClient,
  OAuthProvider,
  PENDING_AUTHORIZATION_TTL_MS,
  PendingAuthorization,
} from './oauth-model';
import { RawParams, repeatedParams, single } from './oauth-params';
import { OAuthShape, SHAPES } from './oauth-shapes';
import { OAuthStatsService } from './oauth-stats.service';
import { isS256Challenge } from './pkce';

export type AuthorizeOutcome =
  /** The request can't be trusted to redirect (unknown client, unregistered redirect_uri): show an error page. */
  | { kind: 'error_page'; error: string; description: string }
  /** A protocol error reported back to the client, RFC 6749 §4.1.2.1. */
  | { kind: 'redirect'; url: string }
  | { kind: 'consent'; request: PendingAuthorization; client: OAuthClient };

export interface ConsentInput {
  requestId: unknown;
  userId: unknown;
  decision: unknown;
  /** undefined: grant everything requested. An array (possibly empty): exactly these. */
  scopes: string[] | undefined;
}

export type ConsentOutcome = { kind: 'redirect'; url: string } | { kind: 'error'; code: string; message: string };

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_SCOPES = 100;
/** Used codes are remembered this long past expiry so a late replay is still detected. */
const USED_CODE_RETENTION_MS = 10 * 60_000;
/** Abandoned requests and long-dead codes are swept after this many authorization-state changes. */
const MUTATIONS_PER_PRUNE = 500;

/**
 * The front channel of the authorization servers: validates authorization requests, parks them
 * for the consent page, turns the user's answer into an authorization code (bound to the PKCE
 * challenge, redirect URI and user) and keeps the codes until they are redeemed or long dead.
 */
@Injectable()
export class AuthorizationService {
  private readonly pending = new Map<string, PendingAuthorization>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private mutationsSincePrune = 0;

  constructor(
    private readonly accounts: AccountsStore,
    private readonly clients: OAuthClientsService,
    private readonly stats: OAuthStatsService,
  ) {}

  /** Validates an authorization request (GET authorize) and parks it for the consent step. */
  begin(shape: OAuthShape, params: RawParams, baseUrl: string): AuthorizeOutcome {
    const repeated = repeatedParams(params);
    const clientId = single(params, 'client_id');
    if (repeated.includes('client_id')) return errorPage('invalid_request', 'client_id was given more than once');
    if (!clientId) return errorPage('invalid_request', 'The authorization request is missing client_id');
    const client = this.clients.find(clientId);
    if (!client || client.provider !== shape.provider) {
      return errorPage('invalid_client', `No ${shape.displayName} app with client_id "${clientId}" is registered`);
    }
    if (repeated.includes('redirect_uri')) return errorPage('invalid_request', 'redirect_uri was given more than once');
    const redirectUri = single(params, 'redirect_uri');
    if (!redirectUri) return errorPage('invalid_request', 'The authorization request is missing redirect_uri');
    if (!client.redirectUris.includes(redirectUri)) {
      return errorPage('invalid_redirect_uri', `redirect_uri "${redirectUri}" is not registered for ${client.name}`);
    }

    // From here on the redirect URI is trusted: errors go back to the client.
    const state = single(params, 'state') ?? null;
    const fail = (error: string, description: string): AuthorizeOutcome => ({
      kind: 'redirect',
      url: withParams(redirectUri, [['error', error], ['error_description', description], ...stateParam(state)]),
    });
    if (repeated.length > 0) return fail('invalid_request', `Parameter ${repeated[0]} was given more than once`);

    const responseType = single(params, 'response_type');
    if (!responseType) return fail('invalid_request', 'response_type is required');
    if (responseType !== 'code') return fail('unsupported_response_type', `response_type "${responseType}" is not supported; use "code"`);

    const challenge = single(params, 'code_challenge') || null;
    const method = single(params, 'code_challenge_method') ?? (challenge ? shape.defaultChallengeMethod : undefined);
    if (method !== undefined && method !== null && !challenge) return fail('invalid_request', 'code_challenge_method was sent without code_challenge');
    if (challenge) {
      if (method !== 'S256') return fail('invalid_request', 'Only code_challenge_method=S256 is supported');
      if (!isS256Challenge(challenge)) return fail('invalid_request', 'code_challenge must be a base64url-encoded SHA-256 hash (43 characters)');
    } else if (client.requirePkce) {
      return fail('invalid_request', 'This app requires PKCE: send code_challenge and code_challenge_method=S256');
    }

    const requested = [...shape.parseScopes(single(params, 'scope') ?? ''), ...shape.parseScopes(single(params, 'optional_scope') ?? '')];
    const scopes = unique(requested.length > 0 ? requested : (client.scopes ?? shape.defaultScopes));
    const badScope = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
    if (badScope !== undefined) return fail('invalid_scope', `"${badScope}" is not a valid scope`);
    if (scopes.length > MAX_SCOPES) return fail('invalid_scope', `At most ${MAX_SCOPES} scopes may be requested`);

    const request: PendingAuthorization = {
      id: 'authreq_' + randomBytes(16).toString('hex'),
      provider: shape.provider,
      clientId: client.clientId,
      redirectUri,
      scopes,
      state,
      codeChallenge: challenge,
      offline: shape.offlineAccessRequested(params),
      baseUrl,
      expiresAt: Date.now() + PENDING_AUTHORIZATION_TTL_MS,
    };
    this.pending.set(request.id, request);
    this.noteMutation();
    return { kind: 'consent', request, client };
  }

  /** The user's answer on the consent page: a redirect with a code, or with access_denied. */
  complete(provider: OAuthProvider, input: ConsentInput): ConsentOutcome {
    const request = typeof input.requestId === 'string' ? this.livePending(input.requestId) : undefined;
    if (!request || request.provider !== provider) {
      return consentError('authorization_request_expired', 'This authorization request has expired or was already answered. Start again from the app.');
    }
    if (!this.clients.find(request.clientId)) return consentError('invalid_client', 'The app that started this authorization request no longer exists.');

    if (input.decision !== 'allow' && input.decision !== 'deny') {
      return consentError('invalid_request', 'decision must be "allow" or "deny"');
    }
    if (input.decision === 'deny') {
      this.pending.delete(request.id);
      return {
        kind: 'redirect',
        url: withParams(request.redirectUri, [
          ['error', 'access_denied'],
          ['error_description', 'The user denied the authorization request'],
          ...stateParam(request.state),
        ]),
      };
    }

    const user = typeof input.userId === 'string' ? this.accounts.findUser(input.userId) : undefined;
    if (!user) return consentError('user_not_found', 'Choose a user to sign in as.');
    if (user.removed) return consentError('user_removed', `User "${user.id}" has been removed and cannot sign in.`);
    const account = this.accounts.getAccount(user.accountId);

    let granted = request.scopes;
    if (input.scopes !== undefined) {
      const chosen = input.scopes;
      const extra = chosen.find((scope) => !request.scopes.includes(scope));
      if (extra !== undefined) return consentError('invalid_scope', `Scope "${extra}" was not requested, so it cannot be granted.`);
      granted = request.scopes.filter((scope) => chosen.includes(scope));
    }

    this.pending.delete(request.id);
    const code: AuthorizationCode = {
      code: AUTHORIZATION_CODE_PREFIX + randomBytes(20).toString('hex'),
      provider: request.provider,
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      userId: user.id,
      accountId: account.id,
      region: account.region,
      scopes: [...granted],
      codeChallenge: request.codeChallenge,
      offline: request.offline,
      expiresAt: Date.now() + AUTHORIZATION_CODE_TTL_MS,
      used: false,
      familyId: null,
    };
    this.codes.set(code.code, code);
    this.stats.count('authorizationCodesIssued');
    this.noteMutation();
    return {
      kind: 'redirect',
      url: withParams(request.redirectUri, [
        ['code', code.code],
        ...stateParam(request.state),
        ...SHAPES[request.provider].redirectExtras({ baseUrl: request.baseUrl, region: account.region }),
      ]),
    };
  }

  /** Active users of every account, for the consent page's "Sign in as" list. */
  signInChoices(): Array<{ account: Account; users: User[] }> {
    return this.accounts
      .listAccounts()
      .map((account) => ({ account, users: this.accounts.listUsers(account.id, { includeRemoved: false }) }))
      .filter((entry) => entry.users.length > 0);
  }

  /** A code as issued, used or not (the token endpoint tells expiry and replay apart). */
  findCode(value: string): AuthorizationCode | undefined {
    return this.codes.get(value);
  }

  /** Marks a code used by the exchange that created token family `familyId`; a replay revokes that family. */
  markRedeemed(code: AuthorizationCode, familyId: string): void {
    code.used = true;
    code.familyId = familyId;
    this.noteMutation();
  }

  reset(): void {
    this.pending.clear();
    this.codes.clear();
  }

  /** The pending request behind a consent page, if it is still live. */
  private livePending(requestId: string): PendingAuthorization | undefined {
    const request = this.pending.get(requestId);
    return request && request.expiresAt > Date.now() ? request : undefined;
  }

  /** Drops abandoned authorization requests and long-dead codes now and then. */
  private noteMutation(): void {
    this.mutationsSincePrune += 1;
    if (this.mutationsSincePrune < MUTATIONS_PER_PRUNE) return;
    this.mutationsSincePrune = 0;
    const now = Date.now();
    for (const [id, request] of this.pending) if (request.expiresAt <= now) this.pending.delete(id);
    for (const [value, code] of this.codes) if (code.expiresAt + USED_CODE_RETENTION_MS <= now) this.codes.delete(value);
  }
}

function errorPage(error: string, description: string): AuthorizeOutcome {
  return { kind: 'error_page', error, description };
}

function consentError(code: string, message: string): ConsentOutcome {
  return { kind: 'error', code, message };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function stateParam(state: string | null): Array<[string, string]> {
  return state === null ? [] : [['state', state]];
}

/** Appends query parameters to a registered redirect URI, keeping the ones it already has. */
function withParams(uri: string, params: Array<[string, string]>): string {
  const url = new URL(uri);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url.toString();
}
