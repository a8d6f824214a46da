/**
 * Integration status vocabulary and the words shown to people. Pure: the workflow
 * bundle imports this.
 */
export type IntegrationStatus = 'pending' | 'active' | 'degraded' | 'blocked' | 'disabled';

export type StatusReason =
  | 'refresh_token_revoked'
  | 'authorizing_user_removed'
  | 'invalid_credentials'
  | 'missing_scopes'
  | 'package_update'
  | 'region_change';

/** A human sentence for the inline banner: what is wrong and what to do. */
export function statusMessage(status: string, reason: string | null, providerName: string): string | null {
  switch (status) {
    case 'pending':
      return `Not connected yet. Connect ${providerName} to start syncing.`;
    case 'disabled':
      return 'This integration is turned off.';
    case 'active':
      return null;
  }
  switch (reason) {
    case 'refresh_token_revoked':
      return `${providerName} revoked this connection's access (or it expired). Syncing is paused until someone re-authorizes the integration.`;
    case 'authorizing_user_removed':
      return `The ${providerName} user who authorized this connection was removed or deactivated. Re-authorize the integration with an active user to resume syncing.`;
    case 'invalid_credentials':
      return `${providerName} no longer accepts this connection's credentials. Re-authorize the integration with a valid token to resume syncing.`;
    case 'missing_scopes':
      return `Some permissions this integration needs are no longer granted by ${providerName}. It keeps working for what it can do; re-authorize to restore the rest.`;
    case 'package_update':
      return `An update needs additional ${providerName} permissions. The integration keeps working; re-authorize to enable the new features.`;
    case 'region_change':
      return `The ${providerName} account moved to another data center. Re-authorize to reconnect in the new region.`;
    default:
      return status === 'blocked' ? `This integration cannot reach ${providerName}. Re-authorize it to resume syncing.` : `Re-authorize this integration to restore full access.`;
  }
}

/** Degraded keeps working (warning); blocked does not (error). */
export function alertLevel(status: string): 'warning' | 'error' {
  return status === 'blocked' ? 'error' : 'warning';
}

/**
 * What a failed refresh means for the integration. `invalid_grant` is the authorization server
 * saying the grant is dead: revoked, expired, reused — or, when it says so, its user is gone.
 */
export function classifyRefreshError(error: { kind: string; description?: string | null }): { status: 'blocked'; reason: StatusReason } | null {
  const d = error.description ?? '';
  if (error.kind === 'user_removed' || /inactive user|user\b.*\b(removed|deactivated|disabled|suspended|inactive)/i.test(d)) {
    return { status: 'blocked', reason: 'authorizing_user_removed' };
  }
  if (error.kind === 'invalid_grant') return { status: 'blocked', reason: 'refresh_token_revoked' };
  if (error.kind === 'invalid_credentials') return { status: 'blocked', reason: 'invalid_credentials' };
  return null; // transient or unknown: retry, do not change the status
}
