/**
 * Audit trail vocabulary: who did something to an integration, and how it ended. Pure: the
 * workflow bundle imports this file.
 */

/** Who acted: an API key (a script or backend), the admin console (signed in with an API key), the end customer's connect page, or the engine itself. */
export type AuditActorKind = 'api_key' | 'console' | 'connect_page' | 'engine';

export interface AuditActor {
  kind: AuditActorKind;
  /** The API key's id (never the key) for `api_key` and `console`; absent for the engine. */
  id?: string;
}

export const ENGINE_ACTOR: AuditActor = { kind: 'engine' };

export const AUDIT_ACTOR_KINDS: readonly AuditActorKind[] = ['api_key', 'console', 'connect_page', 'engine'];

/**
 * How an audited action ended. `unchanged`: asked for, but already so (disable of a disabled
 * integration). Rows of writers that do not record one carry it in their type.
 */
export type AuditOutcome = 'succeeded' | 'unchanged' | 'failed' | 'rejected' | 'cancelled' | 'expired' | 'partial';

/** The outcome of a row that has none recorded, from its type (`reauthorization.failed`, `resync.partial`, …). */
export function outcomeOfType(type: string): AuditOutcome {
  const last = type.slice(type.lastIndexOf('.') + 1);
  switch (last) {
    case 'failed':
      return 'failed';
    case 'attempt_rejected':
      return 'rejected';
    case 'cancelled':
      return 'cancelled';
    case 'expired':
      return 'expired';
    case 'partial':
      return 'partial';
    default:
      return 'succeeded';
  }
}
