/**
 * EGRESS_ALLOWLIST: what each kind of entry means, strict parsing with a message naming the bad
 * entry, and the setting in the catalogue (AppConfig.egressAllowlist, validated at start).
 */
import * as ipaddr from 'ipaddr.js';
import { ConfigError, parseAppConfig } from '../../libs/config/config';
import { SETTINGS } from '../../libs/config/settings';
import { parseIpAddress } from '../../libs/http/address-classification';
import {
  addressIsAllowlisted,
  EgressAllowlistError,
  formatEgressAllowlist,
  hostIsAllowlisted,
  parseEgressAllowlist,
  type EgressAllowlist,
} from '../../libs/http/egress-allowlist';
import { createEgressPolicy } from '../../libs/http/egress-policy';

function parseError(raw: string): string {
  try {
    parseEgressAllowlist(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(EgressAllowlistError);
    return (error as Error).message;
  }
  throw new Error(`"${raw}" was accepted`);
}

const address = (text: string) => {
  const parsed = parseIpAddress(text);
  if (parsed === null) throw new Error(`${text} does not parse`);
  return parsed;
};

describe('parsing', () => {
  test('empty or blank: no exception', () => {
    expect(parseEgressAllowlist('')).toEqual([]);
    expect(parseEgressAllowlist('   ')).toEqual([]);
  });

  test('hosts, host:ports and CIDRs, normalised as a URL normalises its host', () => {
    expect(
      parseEgressAllowlist(' crm.internal , CRM.Example.COM.:8443,10.20.0.0/16, fd00::/8,[FD00::1]:8443,::1,127.0.0.1,0x7f.1:80,localhost,host_name.internal,0.0.0.0/0'),
    ).toEqual([
      { kind: 'host', host: 'crm.internal' },
      { kind: 'host', host: 'crm.example.com', port: 8443 },
      { kind: 'cidr', network: '10.20.0.0', prefixLength: 16 },
      { kind: 'cidr', network: 'fd00::', prefixLength: 8 },
      { kind: 'host', host: 'fd00::1', port: 8443 },
      { kind: 'host', host: '::1' },
      { kind: 'host', host: '127.0.0.1' },
      { kind: 'host', host: '127.0.0.1', port: 80 },
      { kind: 'host', host: 'localhost' },
      { kind: 'host', host: 'host_name.internal' },
      { kind: 'cidr', network: '0.0.0.0', prefixLength: 0 },
    ]);
  });

  test('a single address as a CIDR, and IPv6 CIDRs in any IPv6 spelling', () => {
    expect(parseEgressAllowlist('192.168.1.7/32,::ffff:10.0.0.0/104,0:0:0:0:0:0:0:1/128')).toEqual([
      { kind: 'cidr', network: '192.168.1.7', prefixLength: 32 },
      { kind: 'cidr', network: '::ffff:a00:0', prefixLength: 104 },
      { kind: 'cidr', network: '::1', prefixLength: 128 },
    ]);
  });

  const bad: Array<[raw: string, message: string]> = [
    ['crm.internal,,10.0.0.0/8', 'entry 2 is empty (two commas in a row, or a trailing comma)'],
    ['crm.internal,', 'entry 2 is empty (two commas in a row, or a trailing comma)'],
    ['http://crm.internal', 'entry "http://crm.internal" is a URL: write its host, or host:port, only'],
    ['crm.internal:8443/api', 'entry "crm.internal:8443/api" is not a valid CIDR: the part before "/" must be an IPv4 address in dotted-decimal form or an IPv6 address'],
    ['crm.internal:0', 'entry "crm.internal:0" is not host, host:port or CIDR: the port must be from 1 to 65535'],
    ['crm.internal:65536', 'entry "crm.internal:65536" is not host, host:port or CIDR: the port must be from 1 to 65535'],
    ['crm.internal:123456', 'entry "crm.internal:123456" is not host, host:port or CIDR: expected a host name or IP address, optionally followed by :port (IPv6 in brackets)'],
    ['crm.internal:https', 'entry "crm.internal:https" is not host, host:port or CIDR: expected a host name or IP address, optionally followed by :port (IPv6 in brackets)'],
    ['crm.internal:', 'entry "crm.internal:" is not host, host:port or CIDR: expected a host name or IP address, optionally followed by :port (IPv6 in brackets)'],
    ['*.example.com', 'entry "*.example.com" is not host, host:port or CIDR: a host name has letters, digits, "-" and "_" in dot-separated labels (write internationalised names in punycode)'],
    ['bücher.example', 'entry "bücher.example" is not host, host:port or CIDR: a host name has letters, digits, "-" and "_" in dot-separated labels (write internationalised names in punycode)'],
    ['-crm.internal', 'entry "-crm.internal" is not host, host:port or CIDR: a host name has letters, digits, "-" and "_" in dot-separated labels (write internationalised names in punycode)'],
    ['crm..internal', 'entry "crm..internal" is not host, host:port or CIDR: a host name has letters, digits, "-" and "_" in dot-separated labels (write internationalised names in punycode)'],
    ['user@crm.internal', 'entry "user@crm.internal" is not host, host:port or CIDR: a host name has letters, digits, "-" and "_" in dot-separated labels (write internationalised names in punycode)'],
    ['999.1.1.1', 'entry "999.1.1.1" is not host, host:port or CIDR: the URL parser does not accept this host'],
    ['[crm.internal]:80', 'entry "[crm.internal]:80" is not host, host:port or CIDR: the part in brackets is not an IPv6 address'],
    ['[fd00::1]8443', 'entry "[fd00::1]8443" is not host, host:port or CIDR: expected a host name or IP address, optionally followed by :port (IPv6 in brackets)'],
    ['crm internal', 'entry "crm internal" contains whitespace'],
    ['10.0.0.0/33', 'entry "10.0.0.0/33" is not a valid CIDR: the prefix length must be an integer from 0 to 32'],
    ['fd00::/129', 'entry "fd00::/129" is not a valid CIDR: the prefix length must be an integer from 0 to 128'],
    ['10.0.0.0/', 'entry "10.0.0.0/" is not a valid CIDR: the prefix length must be an integer from 0 to 32'],
    ['10.0.0.0/-8', 'entry "10.0.0.0/-8" is not a valid CIDR: the prefix length must be an integer from 0 to 32'],
    ['10.0.0.0/8/8', 'entry "10.0.0.0/8/8" is not a valid CIDR: the prefix length must be an integer from 0 to 32'],
    ['10.0.0/8', 'entry "10.0.0/8" is not a valid CIDR: the part before "/" must be an IPv4 address in dotted-decimal form or an IPv6 address'],
    ['0x0a.0.0.0/8', 'entry "0x0a.0.0.0/8" is not a valid CIDR: the part before "/" must be an IPv4 address in dotted-decimal form or an IPv6 address'],
    ['[fd00::]/8', 'entry "[fd00::]/8" is not a valid CIDR: the part before "/" must be an IPv4 address in dotted-decimal form or an IPv6 address'],
    ['10.1.2.3/8', 'entry "10.1.2.3/8" is not a valid CIDR: it has bits set past the prefix; the network is 10.0.0.0/8'],
    ['fd00::1/8', 'entry "fd00::1/8" is not a valid CIDR: it has bits set past the prefix; the network is fd00::/8'],
  ];
  test.each(bad)('%s is refused with a message naming the entry', (raw, message) => {
    expect(parseError(raw)).toBe(message);
  });

  test('the written form round-trips', () => {
    const raw = 'crm.internal,crm.example.com:8443,10.20.0.0/16,fd00::/8,[fd00::1]:8443,[::1]';
    expect(formatEgressAllowlist(parseEgressAllowlist(raw))).toBe(raw);
  });
});

describe('matching', () => {
  const allowlist: EgressAllowlist = parseEgressAllowlist('crm.internal,hooks.internal:8443,10.20.0.0/16,fd00:1::/48,::ffff:192.168.7.0/120');

  test('a host entry matches the host on any port; a host:port entry only that port', () => {
    expect(hostIsAllowlisted(allowlist, { host: 'crm.internal', port: 80 })).toBe(true);
    expect(hostIsAllowlisted(allowlist, { host: 'crm.internal', port: 9999 })).toBe(true);
    expect(hostIsAllowlisted(allowlist, { host: 'hooks.internal', port: 8443 })).toBe(true);
    expect(hostIsAllowlisted(allowlist, { host: 'hooks.internal', port: 443 })).toBe(false);
    expect(hostIsAllowlisted(allowlist, { host: 'evil.crm.internal', port: 80 })).toBe(false);
    expect(hostIsAllowlisted(allowlist, { host: 'crm.internal.evil.com', port: 80 })).toBe(false);
  });

  test('CIDR entries match addresses in them, IPv4 and IPv4-mapped alike', () => {
    expect(addressIsAllowlisted(allowlist, address('10.20.255.1'))).toBe(true);
    expect(addressIsAllowlisted(allowlist, address('::ffff:10.20.0.1'))).toBe(true);
    expect(addressIsAllowlisted(allowlist, address('10.21.0.1'))).toBe(false);
    expect(addressIsAllowlisted(allowlist, address('fd00:1::5'))).toBe(true);
    expect(addressIsAllowlisted(allowlist, address('fd00:2::5'))).toBe(false);
    // A mapped CIDR covers the IPv4 addresses it maps.
    expect(addressIsAllowlisted(allowlist, address('192.168.7.9'))).toBe(true);
    expect(addressIsAllowlisted(allowlist, address('192.168.8.9'))).toBe(false);
    // Embedding forms that are not a plain IPv4 socket (NAT64, 6to4) are not the IPv4 address for CIDR purposes.
    expect(addressIsAllowlisted(allowlist, address('64:ff9b::a14:1'))).toBe(false);
    expect(addressIsAllowlisted(allowlist, ipaddr.parse('::1'))).toBe(false);
  });

  test('a malformed allow-list given to the policy as text throws the same error', () => {
    expect(() => createEgressPolicy({ httpsOnly: false, allowlist: '10.0.0.0/33' })).toThrow(EgressAllowlistError);
  });
});

describe('EGRESS_ALLOWLIST setting', () => {
  test('is in the catalogue, empty by default', () => {
    expect(SETTINGS.EGRESS_ALLOWLIST.name).toBe('EGRESS_ALLOWLIST');
    expect(SETTINGS.EGRESS_ALLOWLIST.defaultText).toBe('empty (no exception)');
    expect(parseAppConfig({}).egressAllowlist).toEqual([]);
  });

  test('is parsed into AppConfig.egressAllowlist at start', () => {
    expect(parseAppConfig({ EGRESS_ALLOWLIST: 'crm.internal:8443, 10.0.0.0/8' }).egressAllowlist).toEqual([
      { kind: 'host', host: 'crm.internal', port: 8443 },
      { kind: 'cidr', network: '10.0.0.0', prefixLength: 8 },
    ]);
  });

  test('a bad entry stops the start with a message naming the variable and the entry', () => {
    let error: unknown;
    try {
      parseAppConfig({ EGRESS_ALLOWLIST: 'crm.internal,10.1.2.3/8' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'EGRESS_ALLOWLIST: expected comma-separated host, host:port or CIDR entries (IPv4 or IPv6), such as crm.internal:8443,10.20.0.0/16,fd00::/8, ' +
        'got "crm.internal,10.1.2.3/8" (entry "10.1.2.3/8" is not a valid CIDR: it has bits set past the prefix; the network is 10.0.0.0/8)',
    ]);
  });
});
