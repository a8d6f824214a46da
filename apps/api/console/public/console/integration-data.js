// The integration page's data: fresh integration from the API, and which reauthorization this tab follows.
import { api } from '../api.js';
import { paintIntegration } from './integration-view.js';
import { store, tabStorage, TRACK_PREFIX } from './store.js';

export async function reloadIntegration() {
  const next = await api('GET', `/v1/integrations/${store.detail.integration.id}`);
  store.detail.integration = next;
  paintIntegration(next);
  return next;
}

/** Follows this reauthorization, also after a reload of the tab. */
export function track(reauthorizationId) {
  store.detail.reauthId = reauthorizationId;
  tabStorage()?.setItem(TRACK_PREFIX + store.detail.integration.id, reauthorizationId);
}

/** The tracked reauthorization is gone (404): stop following it. */
export function untrack() {
  tabStorage()?.removeItem(TRACK_PREFIX + store.detail.integration.id);
  store.detail.reauthId = null;
}
