// Starting a reauthorization from the console (the dialog and the magic link both do).
import { api, ApiError } from '../api.js';
import { reloadIntegration, track } from './integration-data.js';
import { store } from './store.js';

function sameScopes(a, b) {
  const x = [...(a || [])].sort();
  const y = [...(b || [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * POST …/reauthorizations starts one, or answers with the one already open. With `replace`, an open
 * one with other options (re-sync, scopes, region) is cancelled and a new one started.
 */
export async function startReauthorization(options, { replace: replaceOther }) {
  const id = store.detail.integration.id;
  const body = {};
  if (options.fullResync) body.fullResync = true;
  if (options.scopes?.length) body.scopes = options.scopes;
  if (options.region) body.region = options.region;
  let started = await api('POST', `/v1/integrations/${id}/reauthorizations`, body);
  if (replaceOther) {
    let differs = Boolean(started.fullResync) !== Boolean(options.fullResync);
    if (!differs && (options.scopes?.length || options.region)) {
      const full = await api('GET', `/v1/reauthorizations/${started.id}`);
      differs = !sameScopes(full.scopes, options.scopes) || (full.region ?? null) !== (options.region ?? null);
    }
    if (differs) {
      await api('POST', `/v1/reauthorizations/${started.id}/cancel`, { reason: 'replaced from the console with other options' }).catch((err) => {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
      });
      started = await api('POST', `/v1/integrations/${id}/reauthorizations`, body);
    }
  }
  track(started.id);
  reloadIntegration().catch(() => undefined);
  return started;
}
