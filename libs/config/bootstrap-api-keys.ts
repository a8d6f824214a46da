/** One tenant and the API key created for it at start. */
export interface BootstrapApiKey {
  tenant: string;
  key: string;
}

/** Shortest bootstrap API key accepted: anything shorter could be guessed. */
export const MIN_BOOTSTRAP_API_KEY_LENGTH = 16;

/**
 * Parses `BOOTSTRAP_API_KEYS="tenantA:keyA,tenantB:keyB"`. Lives with the settings so that the
 * start-time validation and the API's bootstrap read the same rule.
 */
export function parseBootstrapApiKeys(spec: string): BootstrapApiKey[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const idx = entry.indexOf(':');
      if (idx <= 0 || idx === entry.length - 1) throw new Error('BOOTSTRAP_API_KEYS entries must look like "tenant:key"');
      const tenant = entry.slice(0, idx).trim();
      const key = entry.slice(idx + 1).trim();
      if (!tenant) throw new Error('BOOTSTRAP_API_KEYS entries must look like "tenant:key"');
      if (key.length < MIN_BOOTSTRAP_API_KEY_LENGTH) throw new Error(`bootstrap API keys must be at least ${MIN_BOOTSTRAP_API_KEY_LENGTH} characters`);
      return { tenant, key };
    });
}
