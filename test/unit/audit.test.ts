/**
 * The audit trail's vocabulary: the outcome of rows whose writer records none, and the second line
 * of defence on `details` (credential keys and credentials in text masked, error codes readable).
 */
import { redactDetails } from '../../apps/api/audit/audit.service';
import { outcomeOfType } from '../../libs/domain/audit';

describe('outcomeOfType', () => {
  test.each([
    ['reauthorization.failed', 'failed'],
    ['reauthorization.attempt_rejected', 'rejected'],
    ['reauthorization.cancelled', 'cancelled'],
    ['reauthorization.expired', 'expired'],
    ['resync.partial', 'partial'],
    ['resync.failed', 'failed'],
    ['credentials.swapped', 'succeeded'],
    ['integration.created', 'succeeded'],
    ['integration.status_changed', 'succeeded'],
    ['odd', 'succeeded'],
  ])('%s → %s', (type, outcome) => {
    expect(outcomeOfType(type)).toBe(outcome);
  });
});

describe('redactDetails', () => {
  test('credential keys are masked at any depth; ids, versions, reasons and error codes stay', () => {
    const details = {
      reauthorizationId: 'r-1',
      fromVersion: 1,
      reason: 'token rotation',
      error: { code: 'invalid_credentials', message: 'The CRM rejected these credentials.' },
      entities: [{ entity: 'contacts', error: { code: 'ticket_api_down', message: 'down' } }],
      nested: { apiToken: 'sbx_secret_1', refresh_token: 'rt_secret_2', code: 'Xy7-OAuthCodeLooking.Value' },
      empty: { secret: null },
    };
    expect(redactDetails(details)).toEqual({
      reauthorizationId: 'r-1',
      fromVersion: 1,
      reason: 'token rotation',
      error: { code: 'invalid_credentials', message: 'The CRM rejected these credentials.' },
      entities: [{ entity: 'contacts', error: { code: 'ticket_api_down', message: 'down' } }],
      nested: { apiToken: '[redacted]', refresh_token: '[redacted]', code: '[redacted]' },
      empty: { secret: null },
    });
  });

  test('credentials written inside text are masked', () => {
    const out = JSON.stringify(redactDetails({ error: { code: 'crm_unavailable', message: 'GET /me with Authorization: Bearer abc.def.ghi failed; apiToken=sbx_leak' } }));
    expect(out).not.toContain('abc.def.ghi');
    expect(out).not.toContain('sbx_leak');
    expect(out).toContain('crm_unavailable');
  });

  test('a key named __proto__ stays an ordinary key', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}');
    const out = redactDetails(parsed) as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
