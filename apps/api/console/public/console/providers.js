// The provider catalogue (names, OAuth regions), loaded once per page load.
import { api } from '../api.js';
import { store } from './store.js';

export async function loadProviders() {
  if (store.providers.size) return;
  const { data } = await api('GET', '/v1/providers');
  store.providers = new Map(data.map((p) => [p.key, p]));
}

export function providerName(key) {
  return store.providers.get(key)?.name ?? key;
}

export function authLabel(authType) {
  return authType === 'oauth2' ? 'OAuth 2.0' : 'API token';
}
