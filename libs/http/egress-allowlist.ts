/**
 * EGRESS_ALLOWLIST: the operator's exceptions to "public addresses only" (an internal CRM, a
 * webhook receiver on the private network). Entries, comma-separated:
 * - `host` or `host:port`: a URL with that host (and that port, when given) may go wherever the
 *   host resolves, private addresses included; IPv6 literals in brackets (`[fd00::1]:8443`; a
 *   bare IPv6 address is an address, never address:port); this is also the only way to let
 *   `localhost` names through, which are loopback by definition and never judged by a CIDR;
 * - a CIDR, IPv4 or IPv6 (`10.20.0.0/16`, `fd00:1::/48`): any URL whose host resolves inside it.
 * Parsing is strict: a typo must stop the process at start rather than silently allow nothing, or
 * more than meant. The parsed form is plain data, so it can sit in the AppConfig.
 */
import { isIP } from 'node:net';
import * as ipaddr from 'ipaddr.js';
import { addressForMatching, parseIpAddress, type IpAddress } from './address-classification';

export type EgressAllowlistEntry =
  /** `host` is normalised as the URL parser normalises a URL's host (lower case, IPv6 without brackets, no trailing dot). */
  | { readonly kind: 'host'; readonly host: string; readonly port?: number }
  /** `network` in standard text form (`10.20.0.0`, `fd00:1::`). */
  | { readonly kind: 'cidr'; readonly network: string; readonly prefixLength: number };

export type EgressAllowlist = readonly EgressAllowlistEntry[];

/** How the allow-list is written, for the settings catalogue and error messages. */
export const EGRESS_ALLOWLIST_FORM = 'comma-separated host, host:port or CIDR entries (IPv4 or IPv6), such as crm.internal:8443,10.20.0.0/16,fd00::/8';

/** A malformed allow-list; the message names the entry and says what is wrong with it. */
export class EgressAllowlistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EgressAllowlistError';
  }
}

/** Host names of letters, digits, `-` and `_` in dot-separated labels (IDNs in their punycode form), or a dotted IPv4 address. */
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
const HOST_AND_PORT = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/;
const PREFIX_LENGTH = /^\d{1,3}$/;

/** A URL host as compared with host entries: what the WHATWG URL parser makes of it, lower case, unbracketed, no trailing dot. */
export function hostForMatching(urlHostname: string): string {
  const unbracketed = urlHostname.startsWith('[') && urlHostname.endsWith(']') ? urlHostname.slice(1, -1) : urlHostname;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

function parseCidrEntry(entry: string): EgressAllowlistEntry {
  const bad = (why: string) => new EgressAllowlistError(`entry "${entry}" is not a valid CIDR: ${why}`);
  const slash = entry.indexOf('/');
  const addressText = entry.slice(0, slash);
  const prefixText = entry.slice(slash + 1);
  const family = isIP(addressText);
  if (family === 0) throw bad('the part before "/" must be an IPv4 address in dotted-decimal form or an IPv6 address');
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixLength = Number(prefixText);
  if (!PREFIX_LENGTH.test(prefixText) || prefixLength > maxPrefix) throw bad(`the prefix length must be an integer from 0 to ${maxPrefix}`);
  const address = parseIpAddress(addressText);
  if (address === null) throw bad('the part before "/" must be an IPv4 address in dotted-decimal form or an IPv6 address');
  const network = (family === 4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(`${address.toString()}/${prefixLength}`);
  // 10.1.2.3/8 is almost always a mistake (a host meant, or a network mistyped): say what it would mean.
  if (network.toString() !== address.toString()) throw bad(`it has bits set past the prefix; the network is ${network.toString()}/${prefixLength}`);
  return { kind: 'cidr', network: network.toString(), prefixLength };
}

function parseHostEntry(entry: string): EgressAllowlistEntry {
  const bad = (why: string) => new EgressAllowlistError(`entry "${entry}" is not host, host:port or CIDR: ${why}`);
  // A bare IPv6 address (no brackets, no port) is unambiguous.
  if (isIP(entry) === 6) return { kind: 'host', host: hostForMatching(new URL(`http://[${entry}]/`).hostname) };
  const m = HOST_AND_PORT.exec(entry);
  if (!m) throw bad('expected a host name or IP address, optionally followed by :port (IPv6 in brackets)');
  const [, host, portText] = m;
  if (host.startsWith('[')) {
    if (isIP(host.slice(1, -1)) !== 6) throw bad('the part in brackets is not an IPv6 address');
  } else if (!HOST_NAME.test(host)) {
    throw bad('a host name has letters, digits, "-" and "_" in dot-separated labels (write internationalised names in punycode)');
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad('the port must be from 1 to 65535');
  }
  // Normalised exactly as a request URL's host will be, so that `0x7f.1` in a URL matches `127.0.0.1` here.
  let normalised: string;
  try {
    normalised = hostForMatching(new URL(`http://${host}/`).hostname);
  } catch {
    throw bad('the URL parser does not accept this host');
  }
  return port === undefined ? { kind: 'host', host: normalised } : { kind: 'host', host: normalised, port };
}

/** Parses EGRESS_ALLOWLIST; empty or blank means no exception. Throws EgressAllowlistError naming the first bad entry. */
export function parseEgressAllowlist(raw: string): EgressAllowlist {
  if (raw.trim() === '') return [];
  return raw.split(',').map((item, index) => {
    const entry = item.trim();
    if (entry === '') throw new EgressAllowlistError(`entry ${index + 1} is empty (two commas in a row, or a trailing comma)`);
    if (/\s/.test(entry)) throw new EgressAllowlistError(`entry "${entry}" contains whitespace`);
    if (entry.includes('://')) throw new EgressAllowlistError(`entry "${entry}" is a URL: write its host, or host:port, only`);
    return entry.includes('/') ? parseCidrEntry(entry) : parseHostEntry(entry);
  });
}

/** The allow-list in its written form (for logs: what the process runs with). */
export function formatEgressAllowlist(allowlist: EgressAllowlist): string {
  return allowlist
    .map((entry) => {
      if (entry.kind === 'cidr') return `${entry.network}/${entry.prefixLength}`;
      const host = isIP(entry.host) === 6 ? `[${entry.host}]` : entry.host;
      return entry.port === undefined ? host : `${host}:${entry.port}`;
    })
    .join(',');
}

/** A URL's host and effective port, as the allow-list sees them. */
export interface AllowlistTarget {
  /** hostForMatching() of the URL's host. */
  readonly host: string;
  readonly port: number;
}

/** Whether a host entry names this URL's host (and its port, when the entry has one). */
export function hostIsAllowlisted(allowlist: EgressAllowlist, target: AllowlistTarget): boolean {
  return allowlist.some((entry) => entry.kind === 'host' && entry.host === target.host && (entry.port === undefined || entry.port === target.port));
}

/**
 * Whether the address lies in one of the CIDR entries. An IPv4 address and its IPv4-mapped IPv6
 * form (`::ffff:10.1.2.3`) are one destination, so each matches the entries written either way.
 */
export function addressIsAllowlisted(allowlist: EgressAllowlist, address: IpAddress): boolean {
  const asIpv4 = addressForMatching(address);
  const forms: IpAddress[] = asIpv4.kind() === 'ipv4' ? [asIpv4, (asIpv4 as ipaddr.IPv4).toIPv4MappedAddress()] : [asIpv4];
  return allowlist.some((entry) => {
    if (entry.kind !== 'cidr') return false;
    const network = parseIpAddress(entry.network)!;
    return forms.some((form) => form.kind() === network.kind() && form.match(network, entry.prefixLength));
  });
}
