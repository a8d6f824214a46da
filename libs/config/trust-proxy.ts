/**
 * TRUST_PROXY: which proxies in front of the API may report the client's address in
 * `X-Forwarded-For`. The value goes to Express's `trust proxy` as is, so `req.ip` (what the per-IP
 * rate limits count by) is the client behind those proxies and never an address a client made up.
 * Trusting every hop (Express's `true`) is not offered: any client could then pick its own address.
 */
import { isIP } from 'node:net';

/** `false`: the TCP peer is the client; a number: that many proxy hops; a list: those proxies. */
export type TrustProxy = false | number | string[];

/** Express's names for address ranges it knows. */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'] as const;

export const TRUST_PROXY_FORM = `\`off\`, a number of proxy hops (1 to 10), or proxy addresses and CIDRs separated by commas (also ${NAMED_RANGES.join(', ')}), such as 10.0.0.0/8,loopback`;

export function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim();
  if (value === 'off') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 10) throw new Error('a number of hops is from 1 to 10 (`off` trusts none)');
    return hops;
  }
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('no entry');
  for (const entry of entries) checkEntry(entry);
  return entries;
}

function checkEntry(entry: string): void {
  if ((NAMED_RANGES as readonly string[]).includes(entry)) return;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) throw new Error(`${JSON.stringify(entry)} is neither an IP address, a CIDR nor one of ${NAMED_RANGES.join(', ')}`);
  if (slash === -1) return;
  const prefix = entry.slice(slash + 1);
  const maxPrefix = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefix) || Number(prefix) > maxPrefix) throw new Error(`${JSON.stringify(entry)}: the prefix length must be 0 to ${maxPrefix}`);
}
