/**
 * Where the e2e tests' own servers (webhook receivers, custom providers' CRMs, the OIDC server)
 * listen, and how the system under test is allowed to reach them: a dedicated loopback address,
 * 127.10.0.1, allow-listed by CIDR (EGRESS_ALLOWLIST, set by system.ts). Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so no setup is needed there.
 *
 * Everything else on loopback stays refused, 127.0.0.1 included: the sandbox CRM (127.0.0.1) is
 * reached by catalog providers only, as configuration (SANDBOX_CRM_URL), and attacks that aim a
 * custom provider or a webhook at it, or at any other local service, must find nothing.
 */
export const TEST_PEER_HOST = '127.10.0.1';

/** The EGRESS_ALLOWLIST entry that lets the system reach TEST_PEER_HOST (and nothing else on loopback). */
export const TEST_PEER_ALLOWLIST = '127.10.0.0/16';

/** `http://127.10.0.1:<port>`. */
export function testPeerUrl(port: number): string {
  return `http://${TEST_PEER_HOST}:${port}`;
}
