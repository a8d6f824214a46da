/**
 * The egress policy's address rules: which addresses are public, every IPv4 spelling the URL
 * parser knows normalised before anything is judged, and IPv6 forms that carry an IPv4 address
 * judged by that address. No test here connects anywhere: check() only, with a resolver that
 * fails the test if it is asked (literal addresses are never resolved).
 */
import * as fc from 'fast-check';
import { classifyAddress, isPublicAddress, parseIpAddress } from '../../libs/http/address-classification';
import { createEgressPolicy, EgressRefused, type HostResolver } from '../../libs/http/egress-policy';

const neverAsked: HostResolver = (hostname) => Promise.reject(new Error(`the resolver was asked for ${hostname}`));
const policy = createEgressPolicy({ httpsOnly: false, resolver: neverAsked });

async function refusal(url: string): Promise<EgressRefused> {
  try {
    await policy.check(url);
  } catch (error) {
    if (error instanceof EgressRefused) return error;
    throw error;
  }
  throw new Error(`${url} was allowed`);
}

function classOf(text: string): { public: boolean; range: string } {
  const address = parseIpAddress(text);
  if (address === null) throw new Error(`${text} does not parse`);
  return classifyAddress(address);
}

describe('address classification', () => {
  const notPublic: Array<[address: string, range: string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['168.63.129.16', 'cloudHostService'], // Azure WireServer: a public-looking address that is the host's metadata service
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['fec0::1', 'deprecatedSiteLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'ipv4Mapped:loopback'],
    ['::ffff:7f00:1', 'ipv4Mapped:loopback'],
    ['::ffff:10.1.2.3', 'ipv4Mapped:private'],
    ['::ffff:169.254.169.254', 'ipv4Mapped:linkLocal'],
    ['::ffff:0:7f00:1', 'rfc6145:loopback'],
    ['64:ff9b::7f00:1', 'rfc6052:loopback'],
    ['64:ff9b::10.0.0.1', 'rfc6052:private'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052:linkLocal'],
    ['2002:7f00:1::1', '6to4:loopback'],
    ['2002:c0a8:101::1', '6to4:private'],
    ['2002:a9fe:a9fe::', '6to4:linkLocal'],
    // IPv4-compatible (deprecated): outside the global unicast space, whatever it embeds.
    ['::7f00:1', 'notGlobalUnicast'],
    ['::127.0.0.1', 'notGlobalUnicast'],
    ['::93.184.216.34', 'notGlobalUnicast'],
    ['2001:db8::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['2001::1', 'teredo'],
    ['2001:2::1', 'benchmarking'],
    ['64:ff9b:1::a00:1', 'rfc6052'],
    ['100::1', 'discard'],
    ['5f00::1', 'segmentRouting'],
    ['4000::1', 'notGlobalUnicast'],
  ];
  test.each(notPublic)('%s is not public (%s)', (address, range) => {
    expect(classOf(address)).toEqual({ public: false, range });
    expect(isPublicAddress(address)).toBe(false);
  });

  const publicAddresses = [
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:2800:220:1:248:1893:25c8:1946',
    '2a00:1450:4001:80b::200e',
    '::ffff:93.184.216.34',
    '64:ff9b::5db8:d822',
    '2002:5db8:d822::1',
  ];
  test.each(publicAddresses)('%s is public', (address) => {
    expect(classOf(address).public).toBe(true);
    expect(isPublicAddress(address)).toBe(true);
  });

  test('only standard text forms parse as addresses; other spellings are the URL parser’s to normalise', () => {
    for (const text of ['0x7f.1', '127.1', '2130706433', '017700000001', '0', 'localhost', '', '1.2.3.4.5', '::ffff:127.0.0.1:80']) {
      expect(parseIpAddress(text)).toBeNull();
      expect(isPublicAddress(text)).toBe(false);
    }
    expect(parseIpAddress('[::1]')?.toString()).toBe('::1');
  });
});

// ---------------------------------------------------------------------------------------------
// Random non-public IPv4 addresses in random spellings: always refused.

const dotted = (value: number): string => [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');

/** One part of an IPv4 host in decimal, hexadecimal (either case, 0x or 0X) or octal (any number of leading zeros). */
const partSpelling = (value: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant(String(value)),
    fc.tuple(fc.constantFrom('0x', '0X'), fc.boolean(), fc.nat({ max: 3 })).map(([prefix, upper, zeros]) => {
      const digits = '0'.repeat(zeros) + value.toString(16);
      return prefix + (upper ? digits.toUpperCase() : digits);
    }),
    fc.nat({ max: 3 }).map((zeros) => `0${'0'.repeat(zeros)}${value.toString(8)}`),
  );

/** The WHATWG forms of an IPv4 address: a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits); optionally a trailing dot. */
const ipv4Spelling = (value: number): fc.Arbitrary<string> => {
  const [a, b, c, d] = [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff);
  const forms: Array<fc.Arbitrary<string[]>> = [
    fc.tuple(partSpelling(a), partSpelling(b), partSpelling(c), partSpelling(d)),
    fc.tuple(partSpelling(a), partSpelling(b), partSpelling((c << 8) | d)),
    fc.tuple(partSpelling(a), partSpelling(value & 0xffffff)),
    fc.tuple(partSpelling(value >>> 0)),
  ];
  return fc.tuple(fc.oneof(...forms), fc.boolean()).map(([parts, trailingDot]) => parts.join('.') + (trailingDot ? '.' : ''));
};

const NON_PUBLIC_V4_RANGES: Array<[cidr: string, base: number, prefix: number]> = [
  ['0.0.0.0/8', 0x00000000, 8],
  ['10.0.0.0/8', 0x0a000000, 8],
  ['100.64.0.0/10', 0x64400000, 10],
  ['127.0.0.0/8', 0x7f000000, 8],
  ['169.254.0.0/16', 0xa9fe0000, 16],
  ['172.16.0.0/12', 0xac100000, 12],
  ['192.0.2.0/24', 0xc0000200, 24],
  ['192.168.0.0/16', 0xc0a80000, 16],
  ['198.18.0.0/15', 0xc6120000, 15],
  ['224.0.0.0/4', 0xe0000000, 4],
  ['240.0.0.0/4', 0xf0000000, 4],
];

const nonPublicIpv4 = fc
  .constantFrom(...NON_PUBLIC_V4_RANGES)
  .chain(([, base, prefix]) => fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }).map((offset) => (base + offset) >>> 0));

describe('random non-public IPv4 addresses in random spellings', () => {
  test('the URL parser normalises every spelling to the dotted quad, and the policy refuses it', async () => {
    await fc.assert(
      fc.asyncProperty(
        nonPublicIpv4.chain((value) => fc.record({ value: fc.constant(value), spelling: ipv4Spelling(value) })),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.constantFrom('http', 'https', 'HTTP'),
        async ({ value, spelling }, port, scheme) => {
          const url = `${scheme}://${spelling}${port === undefined ? '' : `:${port}`}/path`;
          expect(new URL(url).hostname).toBe(dotted(value));
          expect((await refusal(url)).code).toBe('url_not_allowed');
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('the same addresses inside IPv6 (mapped, translated, NAT64, 6to4, compatible) are refused too', async () => {
    const hex = (value: number) => [(value >>> 16).toString(16), (value & 0xffff).toString(16)];
    await fc.assert(
      fc.asyncProperty(nonPublicIpv4, fc.nat({ max: 5 }), async (value, form) => {
        const [high, low] = hex(value);
        const host = [
          `::ffff:${dotted(value)}`,
          `::ffff:${high}:${low}`,
          `0:0:0:0:0:ffff:${high}:${low}`,
          `::ffff:0:${high}:${low}`,
          `64:ff9b::${dotted(value)}`,
          `2002:${high}:${low}::1`,
        ][form];
        expect((await refusal(`http://[${host}]/`)).code).toBe('url_not_allowed');
      }),
      { numRuns: 500 },
    );
  });

  test('public addresses in the same random spellings pass', async () => {
    // Blocks of ordinary public unicast space (no special-purpose range inside).
    const publicBlocks: Array<[base: number, prefix: number]> = [
      [0x08000000, 8], // 8.0.0.0/8
      [0x5db80000, 16], // 93.184.0.0/16
      [0x2d000000, 8], // 45.0.0.0/8
    ];
    const publicIpv4 = fc
      .constantFrom(...publicBlocks)
      .chain(([base, prefix]) => fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }).map((offset) => (base + offset) >>> 0));
    await fc.assert(
      fc.asyncProperty(publicIpv4.chain((value) => ipv4Spelling(value)), async (spelling) => {
        await expect(policy.check(`https://${spelling}/`)).resolves.toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
