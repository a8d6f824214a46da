/**
 * Which IP addresses a request on behalf of a tenant may reach: public ones only. The ranges come
 * from ipaddr.js (its tables follow IANA's special-purpose registries); this module adds the rules
 * those tables leave to the caller:
 * - IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-translated, NAT64 64:ff9b::/96, 6to4)
 *   are judged by the IPv4 address they carry, since that is where the packets end up;
 * - outside those, an IPv6 address is public only inside 2000::/3, the global unicast space
 *   (this refuses the deprecated IPv4-compatible ::a.b.c.d, which ipaddr.js calls unicast).
 * Deny by default: anything ipaddr.js does not call `unicast` is refused, documentation and
 * benchmarking ranges, AS112, Teredo and local-use NAT64 included.
 */
import { isIP } from 'node:net';
import * as ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** What an address is, for decisions and for tests: `public`, or the range that makes it not public. */
export interface AddressClass {
  readonly public: boolean;
  /** ipaddr.js's range name (`unicast`, `loopback`, `private`, …); for embedded IPv4, e.g. `rfc6052:loopback`. */
  readonly range: string;
}

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
/** The NAT64 well-known prefix: the last 32 bits are the IPv4 address (RFC 6052). */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
/** 6to4: bits 16–48 are the IPv4 address of the site (RFC 3056). */
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16');

/**
 * Parses an IP address in its standard text form only (dotted-quad IPv4 or IPv6, an IPv6 zone
 * allowed). Other IPv4 spellings (`0x7f.1`, `2130706433`) are the URL parser's business: it
 * normalises them in host names before anything here sees them. Null for anything else.
 *
 * IPv6 text goes through the WHATWG serialisation first: ipaddr.js reads `::a.b.c.d` as the
 * IPv4-mapped `::ffff:a.b.c.d`, while the URL parser, Node's sockets and RFC 4291 read it as the
 * IPv4-compatible `::a.b.c.d`; deciding on another reading than the socket's would be a hole.
 */
export function parseIpAddress(text: string): IpAddress | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zoneAt = bare.indexOf('%');
  const withoutZone = zoneAt === -1 ? bare : bare.slice(0, zoneAt);
  const family = isIP(withoutZone);
  if (family === 4) return ipaddr.IPv4.parse(withoutZone);
  if (family !== 6) return null;
  const canonical = new URL(`http://[${withoutZone}]/`).hostname.slice(1, -1);
  return ipaddr.IPv6.parse(zoneAt === -1 ? canonical : `${canonical}${bare.slice(zoneAt)}`);
}

function v4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** The IPv4 address an IPv6 address stands for, in the forms whose packets go to that IPv4 address. */
export function embeddedIpv4(address: ipaddr.IPv6): { form: string; ipv4: ipaddr.IPv4 } | null {
  const p = address.parts;
  if (address.isIPv4MappedAddress()) return { form: 'ipv4Mapped', ipv4: address.toIPv4Address() };
  // ::ffff:0:a.b.c.d (RFC 6145, IPv4-translated).
  if (address.range() === 'rfc6145') return { form: 'rfc6145', ipv4: v4FromParts(p[6], p[7]) };
  if (address.match(NAT64_WELL_KNOWN)) return { form: 'rfc6052', ipv4: v4FromParts(p[6], p[7]) };
  if (address.match(SIX_TO_FOUR)) return { form: '6to4', ipv4: v4FromParts(p[1], p[2]) };
  return null;
}

/** Azure's WireServer (168.63.129.16): instance metadata and host agent, on a public-looking address. */
const CLOUD_HOST_SERVICES: ReadonlySet<string> = new Set(['168.63.129.16']);

export function classifyAddress(address: IpAddress): AddressClass {
  if (address.kind() === 'ipv4') {
    // Cloud metadata and host services reachable at addresses that are otherwise public unicast.
    if (CLOUD_HOST_SERVICES.has(address.toString())) return { public: false, range: 'cloudHostService' };
    const range = address.range();
    return { public: range === 'unicast', range };
  }
  const v6 = address as ipaddr.IPv6;
  const embedded = embeddedIpv4(v6);
  if (embedded) {
    const inner = classifyAddress(embedded.ipv4);
    return { public: inner.public, range: `${embedded.form}:${inner.range}` };
  }
  const range = v6.range();
  if (range !== 'unicast') return { public: false, range };
  if (!v6.match(GLOBAL_UNICAST_V6)) return { public: false, range: 'notGlobalUnicast' };
  return { public: true, range };
}

/** Whether `text` is an IP address (standard form) that is public. False for anything that is not an address. */
export function isPublicAddress(text: string): boolean {
  const address = parseIpAddress(text);
  return address !== null && classifyAddress(address).public;
}

/**
 * The address as CIDR allow-list entries are matched against it: an IPv4-mapped IPv6 address
 * (`::ffff:10.1.2.3`) is the IPv4 address it maps, since a socket to it is an IPv4 connection.
 */
export function addressForMatching(address: IpAddress): IpAddress {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address();
  return address;
}
