/**
 * What operators read: the summaries and current details workflows show in the Temporal UI, the
 * fields of the worker's log lines, and the label values of the business metrics.
 */
import { logFields } from '../../apps/worker/runtime-logger';
import { logIdsOf } from '../../libs/domain/log-context';
import {
  duration,
  reauthorizationDetails,
  reauthorizationSummary,
  tokenRefreshParkedDetails,
  tokenRefreshWaitingDetails,
  utcMinute,
  webhookDeliveryDetails,
} from '../../libs/domain/workflow-texts';
import { entityLabel, providerLabel } from '../../libs/metrics/labels';

const waiting = {
  authType: 'oauth2' as const,
  providerName: 'HubSpot',
  phase: 'awaiting_user' as const,
  outcome: null,
  error: null,
  attempts: 0,
  expiresAt: '2026-12-04T10:00:59.999Z',
  credentialVersion: null,
};

describe('workflow texts', () => {
  test('summaries name the provider, the integration and the kind of credentials', () => {
    expect(reauthorizationSummary({ integrationId: 'i-1', providerName: 'HubSpot', displayName: 'Acme  CRM\n(EU)' }, 'api_token')).toBe(
      'Re-authorize HubSpot integration "Acme CRM (EU)" (API token)',
    );
    expect(reauthorizationSummary({ integrationId: 'i-1', providerName: 'HubSpot', displayName: null }, 'oauth2')).toBe('Re-authorize HubSpot integration i-1 (OAuth)');
  });

  test('a reauthorization says what it waits for and until when, then how it ended', () => {
    expect(reauthorizationDetails(waiting)).toBe('Waiting for the account owner to approve in HubSpot until 2026-12-04 10:00 UTC');
    expect(reauthorizationDetails({ ...waiting, attempts: 1, error: { code: 'access_denied', message: '…' } })).toBe(
      'Waiting for the account owner to approve in HubSpot until 2026-12-04 10:00 UTC; the last attempt was rejected: access_denied',
    );
    expect(reauthorizationDetails({ ...waiting, authType: 'api_token', phase: 'validating', attempts: 2 })).toBe('Validating the new token with the CRM (attempt 2)');
    expect(reauthorizationDetails({ ...waiting, phase: 'completed', outcome: 'succeeded', credentialVersion: 3 })).toBe('Succeeded: credential version 3');
    expect(reauthorizationDetails({ ...waiting, phase: 'completed', outcome: 'expired' })).toMatch(/^Expired: the link was not used before 2026-12-04 10:00 UTC/);
  });

  test('the refresh loop says when it acts next, or what it waits for', () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    expect(tokenRefreshWaitingDetails(true, now + 4 * 60_000, now)).toBe('Refreshing in 4 min (at 10:04 UTC)');
    expect(tokenRefreshWaitingDetails(false, now + 3 * 24 * 3600_000, now, 'degraded', 'missing_scopes')).toBe(
      'Next health check in 3 days (at 2026-12-07 10:00 UTC); degraded: missing scopes',
    );
    expect(tokenRefreshParkedDetails('blocked', 'refresh_token_revoked', true)).toBe('Blocked: refresh token revoked — waiting for a reauthorization');
  });

  test('durations and times read naturally', () => {
    expect([45_000, 4 * 60_000, 5 * 3600_000, 72 * 3600_000].map(duration)).toEqual(['45 s', '4 min', '5 h', '3 days']);
    expect(utcMinute('2026-01-02T03:04:05Z')).toBe('2026-01-02 03:04 UTC');
    expect(webhookDeliveryDetails('e-1', 'ep-1', 86_400)).toMatch(/^Delivering event e-1 to endpoint ep-1; .* up to 24 h/);
  });
});

describe('log fields', () => {
  test('only the tenant and integration ids are taken from an input', () => {
    expect(logIdsOf({ tenantId: 't', integrationId: 'i', apiToken: 'secret', nested: { tenantId: 'x' } })).toEqual({ tenantId: 't', integrationId: 'i' });
    expect(logIdsOf({ tenantId: 42 })).toEqual({});
    expect(logIdsOf(undefined)).toEqual({});
  });

  test("the SDK's attributes become fields: runId named as elsewhere, no task token, errors as name and message", () => {
    const error = Object.assign(new Error('The CRM rejected these credentials.'), { name: 'ApplicationFailure', type: 'invalid_credentials' });
    expect(logFields({ sdkComponent: 'worker', workflowId: 'reauth:i', workflowRunId: 'r-1', taskToken: 'dG9rZW4=', level: 'x', error })).toEqual({
      workflowId: 'reauth:i',
      runId: 'r-1',
      attr_level: 'x',
      error: { name: 'ApplicationFailure', message: 'The CRM rejected these credentials.', type: 'invalid_credentials' },
    });
  });
});

describe('metric labels', () => {
  test("catalog providers and entity types by name, a tenant's own as custom", () => {
    expect([providerLabel('hubspot'), providerLabel('sandbox'), providerLabel('acme-internal-crm'), providerLabel(undefined)]).toEqual(['hubspot', 'sandbox', 'custom', 'custom']);
    expect([entityLabel('contacts'), entityLabel('invoices-2026')]).toEqual(['contacts', 'custom']);
  });
});
