/**
 * The egress policy: every request to a URL that a tenant or a CRM answer supplied (CRM endpoints,
 * instance URLs, webhook receivers) goes through here, so that nobody can make the engine call
 * its own network (the cloud metadata service, the database, the sandbox CRM's admin API).
 *
 * - A URL may reach public addresses only (address-classification.ts), unless EGRESS_ALLOWLIST
 *   names its host (and port) or a CIDR containing its address.
 * - Every spelling of a host is judged by what it is, not how it is written: the WHATWG URL parser
 *   normalises IPv4 forms (`0x7f.1`, `2130706433`, `017700000001`, `127.1`, `0`) and IPv6, names are
 *   resolved and every address they resolve to must pass, and `localhost` names are refused unresolved.
 * - The address connected to is the address checked: the connection's own DNS lookup (undici's
 *   connect `lookup`) resolves and checks again at connect time and hands the socket only the
 *   addresses it checked, so a name that answers "public" first and "127.0.0.1" next never
 *   reaches 127.0.0.1 (DNS rebinding).
 * - Refusals happen before any connection: a refused host looks the same whether its port is open
 *   or closed. Redirects are never followed (a 3xx is `redirect_not_allowed`), answers are read up
 *   to a size cap, and each request has a connect and a total time limit.
 * Errors are EgressRefused with a code and a message of ours; nothing of the remote answer is in it.
 */
import * as dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type * as ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { classifyAddress, parseIpAddress } from './address-classification';
import {
  addressIsAllowlisted,
  hostForMatching,
  hostIsAllowlisted,
  parseEgressAllowlist,
  type EgressAllowlist,
} from './egress-allowlist';

export type EgressRefusalCode =
  /** The URL may not be requested: not http(s), not https where https is required, or a host that is not public and not allow-listed. */
  | 'url_not_allowed'
  /** The server answered with a redirect; redirects are never followed. */
  | 'redirect_not_allowed'
  /** The answer is larger than the cap. */
  | 'response_too_large'
  /** No connection or no complete answer within the time limit. */
  | 'egress_timeout'
  /** An allowed host could not be reached (no address, refused, reset, TLS failure). */
  | 'egress_unreachable';

/** Why a request was not made or not completed. `message` is ours: never the URL (it may carry secrets) nor the remote body. */
export class EgressRefused extends Error {
  constructor(
    readonly code: EgressRefusalCode,
    message: string,
    /** The HTTP status, for `redirect_not_allowed`. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EgressRefused';
  }

  /** Worth retrying later (the network), as opposed to a request that will be refused again. */
  get retryable(): boolean {
    return this.code === 'egress_timeout' || this.code === 'egress_unreachable';
  }
}

/**
 * Resolves a host name to IP addresses (text form); rejects when the name does not resolve. It is
 * asked for names only (never for an IP literal), in canonical form: lower case, no trailing dot.
 */
export type HostResolver = (hostname: string) => Promise<readonly string[]>;

export interface EgressPolicyOptions {
  /** EGRESS_ALLOWLIST, parsed (AppConfig.egressAllowlist) or as written. Default: no exception. */
  allowlist?: EgressAllowlist | string;
  /** Refuse every URL that is not https (CRM_MODE=production). */
  httpsOnly: boolean;
  /** Largest answer body accepted, in bytes, as sent (Content-Length) and as decoded (gzip and the like). Default 1 MiB. */
  maxBytes?: number;
  /** Time limit of a whole request: resolving, connecting, sending and reading the answer. Default 30 s. */
  timeoutMs?: number;
  /** Time limit of resolving and connecting, within timeoutMs. Default 10 s. */
  connectTimeoutMs?: number;
  /** Name resolution; default: the system resolver (`dns.lookup`, as sockets use). Tests inject their own. */
  resolver?: HostResolver;
}

/**
 * The fetch options the policy accepts: those of `fetch` that callers use (oauth4webapi's
 * `customFetch` passes method, headers, body, redirect, signal, duplex), plus per-call limits.
 * `redirect` is accepted for compatibility and ignored: redirects are never followed.
 */
export interface EgressRequestInit {
  method?: string;
  headers?: RequestInit['headers'];
  body?: RequestInit['body'];
  redirect?: RequestInit['redirect'];
  signal?: AbortSignal | null;
  duplex?: 'half';
  /** Overrides the policy's maxBytes for this request. */
  maxBytes?: number;
  /** Overrides the policy's timeoutMs for this request. */
  timeoutMs?: number;
}

export interface EgressPolicy {
  /**
   * Validation when a URL is stored (PUT/POST of an endpoint): rejects with `url_not_allowed` what
   * is already known to be disallowed. A name that does not resolve now (or not within timeoutMs)
   * passes: it is not known to be disallowed, and fetch() checks again at every request anyway.
   */
  check(url: string | URL): Promise<void>;
  /**
   * A request under the policy. Resolves to a standard Response whose body is already read (within
   * the cap): status, headers, ok, text(), json(), arrayBuffer(), body. Rejects with EgressRefused;
   * when the caller's own signal aborts, with that signal's reason, as fetch does; a request that
   * cannot be built (an invalid header value) rejects with fetch's own TypeError.
   */
  fetch(url: string | URL, init?: EgressRequestInit): Promise<Response>;
}

export const DEFAULT_EGRESS_MAX_BYTES = 1024 * 1024;
export const DEFAULT_EGRESS_TIMEOUT_MS = 30_000;
export const DEFAULT_EGRESS_CONNECT_TIMEOUT_MS = 10_000;

const NOT_PUBLIC = 'the URL is not allowed: its host is not a public address (EGRESS_ALLOWLIST lists the exceptions)';

/** A URL as the policy judges it. */
interface Target {
  readonly url: URL;
  /** The URL's host without brackets (IP literals are recognised on this form). */
  readonly hostname: string;
  /** hostForMatching(): lower case, unbracketed, no trailing dot; what is matched and resolved. */
  readonly host: string;
  readonly port: number;
}

function refuseUrl(message: string): EgressRefused {
  return new EgressRefused('url_not_allowed', message);
}

function parseTarget(input: string | URL, httpsOnly: boolean): Target {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw refuseUrl('the URL is not allowed: it is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) {
    throw refuseUrl(httpsOnly ? 'the URL is not allowed: only https URLs are' : 'the URL is not allowed: only http and https URLs are');
  }
  // fetch would refuse them too; refusing here keeps credentials out of every later step.
  if (url.username !== '' || url.password !== '') throw refuseUrl('the URL is not allowed: it carries a user name or password');
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { url, hostname, host: hostForMatching(url.hostname), port };
}

/** `localhost` and its subdomains are loopback by definition (RFC 6761), whatever a resolver says. */
function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

async function systemResolver(hostname: string): Promise<readonly string[]> {
  const answers = await dns.promises.lookup(hostname, { all: true });
  return answers.map((answer) => answer.address);
}

function assertPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

/** The first EgressRefused in an error's cause chain: fetch wraps what the connect-time lookup rejected with. */
function egressRefusalIn(error: unknown): EgressRefused | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof EgressRefused) return e;
  }
  return undefined;
}

function hasErrorCode(error: unknown, code: string): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

/** Rejects with the signal's reason as soon as it aborts, without waiting for `work` (a slow resolver). */
function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/**
 * Where a socket connects for a checked address: an IPv4-mapped address as the IPv4 address it
 * maps (the same destination, and reachable where IPv6 is off).
 */
function socketAddress(text: string): { address: string; family: number } {
  const address = parseIpAddress(text);
  if (address !== null && address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return { address: (address as ipaddr.IPv6).toIPv4Address().toString(), family: 4 };
  }
  return { address: text, family: isIP(text) };
}

/** Statuses whose Response has no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function isRedirect(status: number): boolean {
  // 304 Not Modified is an answer to a conditional request, not a pointer elsewhere.
  return status >= 300 && status < 400 && status !== 304;
}

export function createEgressPolicy(options: EgressPolicyOptions): EgressPolicy {
  const allowlist: EgressAllowlist = typeof options.allowlist === 'string' ? parseEgressAllowlist(options.allowlist) : (options.allowlist ?? []);
  assertPositive('maxBytes', options.maxBytes);
  assertPositive('timeoutMs', options.timeoutMs);
  assertPositive('connectTimeoutMs', options.connectTimeoutMs);
  const httpsOnly = options.httpsOnly;
  const defaultMaxBytes = options.maxBytes ?? DEFAULT_EGRESS_MAX_BYTES;
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_EGRESS_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_EGRESS_CONNECT_TIMEOUT_MS;
  const resolver = options.resolver ?? systemResolver;

  /** Resolves a name; only well-formed addresses count, an empty answer is a failure. */
  async function resolve(hostname: string): Promise<string[]> {
    const answers = await resolver(hostname);
    const addresses = [...new Set(answers)].filter((address) => parseIpAddress(address) !== null);
    if (addresses.length === 0) throw new Error('the name resolved to no address');
    return addresses;
  }

  /** Public, or inside an allow-listed CIDR. */
  function addressAllowed(text: string): boolean {
    const address = parseIpAddress(text);
    if (address === null) return false;
    return classifyAddress(address).public || addressIsAllowlisted(allowlist, address);
  }

  /** Every address must pass: a name answering one public and one private address is refused. */
  function assertAddressesAllowed(addresses: readonly string[]): void {
    if (!addresses.every(addressAllowed)) throw refuseUrl(NOT_PUBLIC);
  }

  /**
   * What can be decided before connecting. Returns without a verdict on resolution failures when
   * `unresolvable` is 'pass' (check()); fetch() treats them as unreachable.
   */
  async function precheck(target: Target, unresolvable: 'pass' | 'unreachable', signal: AbortSignal): Promise<void> {
    if (hostIsAllowlisted(allowlist, target)) return;
    if (isIP(target.hostname) !== 0) {
      assertAddressesAllowed([target.hostname]);
      return;
    }
    if (isLocalhostName(target.host)) throw refuseUrl(NOT_PUBLIC);
    let addresses: string[];
    try {
      addresses = await untilAborted(signal, resolve(target.host));
    } catch (error) {
      // A name that does not resolve (or not in time) is not known to be disallowed.
      if (unresolvable === 'pass') return;
      if (signal.aborted) throw error;
      throw new EgressRefused('egress_unreachable', 'the server could not be reached: its name does not resolve');
    }
    assertAddressesAllowed(addresses);
  }

  /**
   * The socket's DNS lookup: resolves the name again at connect time, checks every answer, and
   * gives the socket only those answers. This, not the precheck, is what decides where the
   * connection goes; the precheck only refuses early.
   */
  function connectTimeLookup(target: Target): LookupFunction {
    const trusted = hostIsAllowlisted(allowlist, target);
    return (hostname, lookupOptions, callback) => {
      const decide = async (): Promise<string[]> => {
        // This agent serves one request to one origin; any other name is not what was checked.
        if (hostForMatching(hostname) !== target.host) throw refuseUrl(NOT_PUBLIC);
        if (!trusted && isLocalhostName(target.host)) throw refuseUrl(NOT_PUBLIC);
        const addresses = isIP(hostname) !== 0 ? [hostname] : await resolve(target.host);
        if (!trusted) assertAddressesAllowed(addresses);
        return addresses;
      };
      decide().then(
        (addresses) => {
          const wanted = lookupOptions.family === 4 || lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 6 || lookupOptions.family === 'IPv6' ? 6 : 0;
          const answers = addresses.map(socketAddress).filter((a) => wanted === 0 || a.family === wanted);
          if (answers.length === 0) {
            callback(Object.assign(new Error('no address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
          } else if (lookupOptions.all) {
            callback(null, answers);
          } else {
            callback(null, answers[0].address, answers[0].family);
          }
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
      );
    };
  }

  /**
   * The agent's connector: connects only to the origin that was checked (its host and port),
   * through the checking lookup. Redirects are not followed, so nothing else should ever be asked
   * for; should that change, another origin is refused here rather than reached unchecked (an IP
   * literal would not even pass through the lookup).
   */
  function originBoundConnector(target: Target, timeout: number): buildConnector.connector {
    const connect = buildConnector({ timeout, lookup: connectTimeLookup(target) });
    return (connectOptions, callback) => {
      const port = connectOptions.port ? Number(connectOptions.port) : connectOptions.protocol === 'https:' ? 443 : 80;
      if (hostForMatching(connectOptions.hostname) !== target.host || port !== target.port || connectOptions.protocol !== target.url.protocol) {
        callback(refuseUrl(NOT_PUBLIC), null);
        return;
      }
      connect(connectOptions, callback);
    };
  }

  /** The answer body, read to the end unless it passes the cap. */
  async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
    if (body === null) return new Uint8Array(0);
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new EgressRefused('response_too_large', `the answer is larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes;
  }

  /** A standard Response over the bytes read; json() parses in this realm (see the jest setup for why that matters). */
  function bufferedResponse(status: number, statusText: string, headers: Iterable<[string, string]>, bytes: Uint8Array, url: string): Response {
    const copy = new Headers();
    for (const [name, value] of headers) copy.append(name, value);
    const response = new Response(NULL_BODY_STATUSES.has(status) ? null : bytes, { status, statusText, headers: copy });
    Object.defineProperty(response, 'url', { configurable: true, value: url });
    Object.defineProperty(response, 'json', { configurable: true, value: async (): Promise<unknown> => JSON.parse(await response.text()) });
    return response;
  }

  return {
    async check(url) {
      const target = parseTarget(url, httpsOnly);
      await precheck(target, 'pass', AbortSignal.timeout(defaultTimeoutMs));
    },

    async fetch(url, init = {}) {
      assertPositive('maxBytes', init.maxBytes);
      assertPositive('timeoutMs', init.timeoutMs);
      const maxBytes = init.maxBytes ?? defaultMaxBytes;
      const timeoutMs = init.timeoutMs ?? defaultTimeoutMs;
      const target = parseTarget(url, httpsOnly);
      const deadline = AbortSignal.timeout(timeoutMs);
      const callerSignal = init.signal ?? undefined;
      const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;

      /** What a failure becomes: ours, the caller's abort, a timeout, unreachable; anything else (a request fetch cannot build) as is. */
      const failure = (error: unknown): unknown => {
        const refusal = egressRefusalIn(error);
        if (refusal) return refusal;
        if (callerSignal?.aborted) return callerSignal.reason;
        if (deadline.aborted || hasErrorCode(error, 'UND_ERR_CONNECT_TIMEOUT')) {
          return new EgressRefused('egress_timeout', `no complete answer within ${timeoutMs} ms`);
        }
        const name = (error as Error | null)?.name;
        const message = (error as Error | null)?.message;
        // fetch reports every network failure as TypeError('fetch failed'), and a body cut off as TypeError('terminated').
        if (name === 'TypeError' && message !== 'fetch failed' && message !== 'terminated') return error;
        return new EgressRefused('egress_unreachable', 'the server could not be reached');
      };

      try {
        await precheck(target, 'unreachable', signal);
      } catch (error) {
        throw failure(error);
      }

      const agent = new Agent({ connect: originBoundConnector(target, Math.min(connectTimeoutMs, timeoutMs)) });
      try {
        const response = await undiciFetch(target.url.href, {
          method: init.method,
          headers: init.headers as never,
          body: init.body as never,
          duplex: init.duplex,
          redirect: 'manual',
          signal,
          dispatcher: agent,
        });
        if (isRedirect(response.status)) {
          await response.body?.cancel().catch(() => undefined);
          throw new EgressRefused('redirect_not_allowed', `the server answered with a redirect (HTTP ${response.status}); redirects are not followed`, response.status);
        }
        const declaredLength = response.headers.get('content-length');
        if (declaredLength !== null && /^\d+$/.test(declaredLength) && Number(declaredLength) > maxBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw new EgressRefused('response_too_large', `the answer is larger than ${maxBytes} bytes`);
        }
        const bytes = await readCapped(response.body as ReadableStream<Uint8Array> | null, maxBytes);
        return bufferedResponse(response.status, response.statusText, response.headers, bytes, response.url);
      } catch (error) {
        throw failure(error);
      } finally {
        // The body is read (or given up): nothing more goes over this agent's connection.
        await agent.destroy().catch(() => undefined);
      }
    },
  };
}
