import type { AppConfig } from '../config/config';
import type { EgressAllowlist, EgressAllowlistEntry } from '../http/egress-allowlist';
import { hostForMatching } from '../http/egress-allowlist';
import { createEgressPolicy, type EgressPolicy, type HostResolver } from '../http/egress-policy';
import type { ProviderDefinition } from './catalog';

/**
 * The process's egress policies (one set per process, built from its configuration): every request
 * to a URL that a tenant or a CRM answer supplied goes through one of them.
 *
 * - `tenantUrls`: webhook receivers, custom providers' endpoints, and anything a token response
 *   names. Public addresses only, plus EGRESS_ALLOWLIST; https only when CRM_MODE=production.
 * - `forProvider(provider)`: the policy of one provider's calls. A catalog provider's URLs are
 *   configuration, not tenant input: in sandbox mode they point at SANDBOX_CRM_URL (loopback, in
 *   development and tests), and exactly that origin passes for a catalog provider, nothing else
 *   (not loopback in general, not the sandbox for a custom provider). Every other URL of a catalog
 *   provider (a production CRM, an API host from a token response) is judged as tenant input.
 */
export interface ProcessEgress {
  readonly tenantUrls: EgressPolicy;
  forProvider(provider: Pick<ProviderDefinition, 'custom'>): EgressPolicy;
  /** The origins trusted for catalog providers (`scheme://host:port`); empty in production mode. */
  readonly catalogOrigins: ReadonlySet<string>;
}

export type EgressSettings = Pick<AppConfig, 'egressAllowlist' | 'crmMode' | 'sandboxCrmUrl'>;

/** A URL's origin, or null when it is not a URL (the policy refuses those with its own message). */
function originOf(url: string | URL): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** An allow-list entry naming exactly this origin's host and port. */
function hostEntry(origin: string): EgressAllowlistEntry {
  const url = new URL(origin);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { kind: 'host', host: hostForMatching(url.hostname), port };
}

export function createProcessEgress(cfg: EgressSettings, opts: { resolver?: HostResolver } = {}): ProcessEgress {
  const httpsOnly = cfg.crmMode === 'production';
  const tenantUrls = createEgressPolicy({ allowlist: cfg.egressAllowlist, httpsOnly, resolver: opts.resolver });
  const catalogOrigins = new Set(cfg.crmMode === 'sandbox' ? [new URL(cfg.sandboxCrmUrl).origin] : []);
  if (catalogOrigins.size === 0) {
    return { tenantUrls, forProvider: () => tenantUrls, catalogOrigins };
  }
  // The allow-list entries match host and port; the origin test below adds the scheme, so this
  // policy is only ever asked about URLs of exactly the catalog's origins.
  const catalogAllowlist: EgressAllowlist = [...cfg.egressAllowlist, ...[...catalogOrigins].map(hostEntry)];
  const catalogUrls = createEgressPolicy({ allowlist: catalogAllowlist, httpsOnly, resolver: opts.resolver });
  const policyFor = (url: string | URL): EgressPolicy => (catalogOrigins.has(originOf(url) ?? '') ? catalogUrls : tenantUrls);
  const catalogProviders: EgressPolicy = {
    check: (url) => policyFor(url).check(url),
    fetch: (url, init) => policyFor(url).fetch(url, init),
  };
  return {
    tenantUrls,
    forProvider: (provider) => (provider.custom ? tenantUrls : catalogProviders),
    catalogOrigins,
  };
}
