import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AppConfig } from '../libs/config/config';
import { hashState, oauthAttemptAad, type SealedAttempt } from '../libs/crypto/oauth-attempt';
import { grantIdOf, markGrantRevoked, openCredentialSecret, sealedCredentialRow } from '../libs/db/credential-store';
import { refreshTokenExpiry } from '../libs/domain/refresh-token-expiry';
import { CredentialVersion, Integration, Reauthorization } from '../libs/db/entities';
import { type CrmIdentity, ERROR_MESSAGES } from '../libs/domain/reauthorization';
import type { OAuth2Definition } from '../libs/providers/catalog';
import { buildAuthorizationUrl, exchangeAuthorizationCode, generatePkceVerifier, generateState, revokeRefreshToken, whoAmIWithAccessToken } from '../libs/providers/oauth-client';
import { crmFailure } from './crm.activities';
import type { ActivityDeps } from './deps';

const LOG_CONTEXT = 'OAuthActivities';

/**
 * How long revoking a rejected grant may take: inside the validation's own time limit, after the
 * who-am-I call, and the person waits for it.
 */
const REJECTED_GRANT_REVOCATION_TIMEOUT_MS = 5_000;

/** What the person reads when the CRM's answer to their sign-in was lost and the single-use code is spent. */
const CODE_ANSWER_LOST = 'The CRM did not get to confirm this sign-in (its answer was lost, and a sign-in code works only once). Please sign in again.';

export function redirectUri(cfg: AppConfig): string {
  return `${cfg.publicUrl}/oauth/callback`;
}

/** Scopes to ask for: the app's, the integration's required ones and the extra ones of this reauthorization. */
export function requestedScopes(def: OAuth2Definition, integration: Integration, extra: string[]): string[] {
  return [...new Set([...def.defaultScopes, ...integration.requiredScopes, ...extra])];
}

/**
 * OAuth steps of a reauthorization. Secrets (state, PKCE verifier, code, tokens) stay in Postgres,
 * sealed; what these activities return to the workflow is never a secret.
 */
export function createOAuthActivities({
  dataSource: ds,
  credentialsKeyRing: ring,
  config: cfg,
  providers,
  egress,
  logger,
}: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing' | 'config' | 'providers' | 'egress' | 'logger'>) {
  async function oauthContext(tenantId: string, providerKey: string) {
    const provider = await providers.resolve(tenantId, providerKey);
    const def = provider?.oauth2;
    const app = await providers.oauthApp(tenantId, providerKey);
    if (!def || !app) {
      throw ApplicationFailure.create({
        type: 'provider_not_configured',
        message: `No OAuth app is configured for provider "${providerKey}" (PUT /v1/providers/${providerKey}).`,
        nonRetryable: true,
      });
    }
    return { def, app, egress: egress.forProvider(provider!) };
  }

  return {
    /**
     * Issues authorization attempt `attempt`: a fresh single-use `state` and PKCE verifier, and the
     * consent URL built from them. Idempotent per attempt number; the previous attempt's state stops
     * matching the moment this one is written.
     */
    async prepareAuthorizationAttempt(args: { reauthorizationId: string; attempt: number }): Promise<{ attempt: number; stateHash: string }> {
      return ds.transaction(async (tx) => {
        const row = await tx.findOne(Reauthorization, { where: { id: args.reauthorizationId }, lock: { mode: 'pessimistic_write' } });
        if (!row) throw ApplicationFailure.create({ type: 'reauthorization_not_found', message: 'reauthorization row missing', nonRetryable: true });
        if (row.oauthAttempt >= args.attempt && row.stateHash) return { attempt: row.oauthAttempt, stateHash: row.stateHash };
        const integration = await tx.findOneOrFail(Integration, { where: { id: row.integrationId } });
        const { def, app } = await oauthContext(row.tenantId, integration.provider);
        const state = generateState();
        const codeVerifier = def.pkce ? generatePkceVerifier() : null;
        const authorizeUrl = await buildAuthorizationUrl(def, app, {
          redirectUri: redirectUri(cfg),
          scopes: requestedScopes(def, integration, row.scopes),
          state,
          codeVerifier,
        });
        const sealed = ring.sealJson({ attempt: args.attempt, state, codeVerifier, authorizeUrl } satisfies SealedAttempt, oauthAttemptAad(row.id));
        const stateHash = hashState(state);
        await tx.update(Reauthorization, { id: row.id }, { oauthAttempt: args.attempt, stateHash, oauthKeyId: sealed.keyId, oauthCiphertext: sealed.data });
        return { attempt: args.attempt, stateHash };
      });
    },

    /**
     * Redeems the authorization code and parks the tokens as a `pending` credential version (sealed)
     * before anything else, so a crash after this point never needs the (single-use) code again.
     */
    async exchangeAuthorizationCode(args: {
      reauthorizationId: string;
      attempt: number;
      code: string;
      callbackParams: Record<string, string>;
    }): Promise<{ pendingCredentialId: string; grantedScopes: string[] | null; region: string | null }> {
      const existing = await ds.getRepository(CredentialVersion).findOne({ where: { reauthorizationId: args.reauthorizationId, attempt: args.attempt } });
      if (existing) return { pendingCredentialId: existing.id, grantedScopes: existing.scopes, region: existing.region };

      const row = await ds.getRepository(Reauthorization).findOneOrFail({ where: { id: args.reauthorizationId } });
      if (!row.oauthKeyId || !row.oauthCiphertext) {
        throw ApplicationFailure.create({ type: 'invalid_state', message: 'no authorization attempt to complete', nonRetryable: true });
      }
      const attempt = ring.openJson<SealedAttempt>({ keyId: row.oauthKeyId, data: row.oauthCiphertext }, oauthAttemptAad(row.id));
      if (attempt.attempt !== args.attempt) {
        throw ApplicationFailure.create({ type: 'invalid_state', message: 'this authorization attempt was superseded', nonRetryable: true });
      }
      const integration = await ds.getRepository(Integration).findOneOrFail({ where: { id: row.integrationId } });
      const { def, app, egress: providerEgress } = await oauthContext(row.tenantId, integration.provider);
      let tokens;
      try {
        tokens = await exchangeAuthorizationCode(providerEgress, def, app, {
          code: args.code,
          redirectUri: redirectUri(cfg),
          codeVerifier: attempt.codeVerifier,
          callbackParams: args.callbackParams,
        });
      } catch (err) {
        const failure = crmFailure(err);
        if (failure.type === 'invalid_grant' && Context.current().info.attempt > 1) {
          // An earlier attempt may have redeemed the code and lost the answer (worker killed, database
          // down, the answer slower than our timeout): codes are single-use, so ask the person to sign
          // in again (a new attempt, same link) rather than failing the reauthorization.
          logger.log(`code exchange for reauthorization ${row.id} refused on attempt ${Context.current().info.attempt}: an earlier attempt's answer may have been lost`, LOG_CONTEXT);
          throw ApplicationFailure.create({ type: 'crm_unavailable', message: CODE_ANSWER_LOST, nonRetryable: true });
        }
        throw failure;
      }
      const rtExpiry = refreshTokenExpiry({
        now: Date.now(),
        hasRefreshToken: Boolean(tokens.refreshToken),
        statedExpiresAt: tokens.refreshTokenExpiresAt,
        previousStatedExpiresAt: null,
        refreshTokenChanged: true,
        idleSeconds: def.refreshTokenPolicy?.idleSeconds,
      });
      const pending = await ds.transaction(async (tx) => {
        const again = await tx.findOne(CredentialVersion, { where: { reauthorizationId: row.id, attempt: args.attempt } });
        if (again) return again;
        return tx.save(
          sealedCredentialRow(tx, ring, {
            tenantId: row.tenantId,
            integrationId: row.integrationId,
            version: null,
            state: 'pending',
            credentials: {
              secret: { accessToken: tokens.accessToken, ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}) },
              identity: { accountId: '', userId: null, scopes: tokens.grantedScopes ?? [] },
              expiresAt: tokens.expiresAt,
              region: tokens.metadata.region ?? null,
              baseUrl: tokens.metadata.apiBaseUrl ?? null,
              refreshTokenExpiresAt: rtExpiry.expiresAt,
            },
            reauthorizationId: row.id,
            attempt: args.attempt,
            metadata: {
              ...tokens.metadata,
              scopesReported: tokens.grantedScopes !== null,
              ...(rtExpiry.statedExpiresAt ? { refreshTokenStatedExpiresAt: rtExpiry.statedExpiresAt } : {}),
            },
          }),
        );
      });
      return { pendingCredentialId: pending.id, grantedScopes: tokens.grantedScopes, region: tokens.metadata.region ?? null };
    },

    /**
     * Validate before swap: who-am-I works with the new token, it is the same CRM account (unless an
     * account change was allowed), and every required scope was granted. A rejected pending version is
     * revoked so it can never be promoted.
     */
    async validatePendingCredentials(args: {
      pendingCredentialId: string;
      expectedAccountId: string | null;
      requiredScopes: string[];
    }): Promise<CrmIdentity> {
      const repo = ds.getRepository(CredentialVersion);
      const pending = await repo.findOneOrFail({ where: { id: args.pendingCredentialId } });
      const integration = await ds.getRepository(Integration).findOneOrFail({ where: { id: pending.integrationId } });
      const { def, app, egress: providerEgress } = await oauthContext(pending.tenantId, integration.provider);
      const secret = openCredentialSecret(ring, pending);
      const reject = async (type: string, message: string) => {
        await repo.update({ id: pending.id, state: 'pending' }, { state: 'revoked' });
        await revokeRejectedGrant();
        return ApplicationFailure.create({ type, message, nonRetryable: true });
      };
      // The person signed in, so the CRM minted a grant for our app: unused, it would stay live (a
      // wrong account's tokens in our hands) and count against the user's limit of grants. One try;
      // a failure is logged, and the grant then lapses on the CRM's terms.
      const revokeRejectedGrant = async () => {
        if (!def.revocation || !secret.refreshToken || typeof pending.metadata?.grantRevokedAt === 'string') return;
        try {
          const outcome = await revokeRefreshToken(providerEgress, def, def.revocation, app, secret.refreshToken, pending.region, REJECTED_GRANT_REVOCATION_TIMEOUT_MS);
          await markGrantRevoked(ds.manager, pending.integrationId, grantIdOf(pending));
          logger.log(`rejected grant of reauthorization ${pending.reauthorizationId} revoked at the CRM (${outcome})`, LOG_CONTEXT);
        } catch (err) {
          logger.log(`could not revoke the rejected grant of reauthorization ${pending.reauthorizationId}: ${(err as Error).message.slice(0, 300)}`, LOG_CONTEXT);
        }
      };
      let identity: CrmIdentity;
      try {
        identity = await whoAmIWithAccessToken(providerEgress, def, { accessToken: secret.accessToken!, metadata: pending.metadata as Record<string, string> });
      } catch (err) {
        const failure = crmFailure(err);
        if (failure.nonRetryable) throw await reject(failure.type ?? 'invalid_credentials', failure.message);
        throw failure;
      }
      if (args.expectedAccountId !== null && identity.accountId !== args.expectedAccountId) {
        throw await reject('account_mismatch', ERROR_MESSAGES.account_mismatch);
      }
      // The most precise answer wins: the CRM's own token info, else the token response, else (no
      // provider report at all) what was asked for.
      const reported = (pending.metadata as { scopesReported?: boolean }).scopesReported;
      const granted = identity.scopes.length ? identity.scopes : reported ? pending.scopes : args.requiredScopes;
      const missing = args.requiredScopes.filter((s) => !granted.includes(s));
      if (missing.length) {
        throw await reject('missing_scopes', `${ERROR_MESSAGES.missing_scopes} Missing: ${missing.join(', ')}.`);
      }
      await repo.update({ id: pending.id }, { accountId: identity.accountId, userId: identity.userId, scopes: granted });
      return { ...identity, scopes: granted };
    },
  };
}
