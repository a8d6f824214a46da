/**
 * A leaked `state` cannot spoil an OAuth reauthorization, and result pages reveal nothing: the
 * callback counts only in the browser that began the attempt (its attempt cookie from
 * `/connect/:token/authorize`), and result pages say only our own words, never the link token.
 * Real Temporal, Postgres, worker and API processes, HTTP all the way (the browser is fetch with
 * the cookie carried by hand; test/browser/ does the same in Chromium).
 */
import assert from 'node:assert/strict';
import { beginAttempt, configureOAuthApp, connectedOAuthIntegration, consent, continueToCrm, crmAccount, followCallback, startReauth } from './support/oauth';
import { api, startSystem, waitFor, type TestSystem } from './support/system';

/** What a phisher would like a result page to say, and markup they would like it to run. */
const PHISHING = 'Your account is locked. Call +1-555-0100 and read us the code we text you.';
const SCRIPT = '<script>alert(document.domain)</script>';

describe('OAuth callbacks bound to the browser that began the attempt', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
    await configureOAuthApp(sys, 'hubspot');
  });
  afterAll(async () => {
    await sys?.stop();
  });

  async function openReauthorization(name: string) {
    const acct = await crmAccount(sys, name);
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const started = await startReauth(sys, integration.id);
    return { acct, integration, started };
  }

  /** The attempt as the workflow and the database see it: nothing here may move on a refused callback. */
  async function attemptState(started: { id: string; workflowId: string }) {
    const events = (await sys.client.workflow.getHandle(started.workflowId).fetchHistory()).events!.length;
    const row = (await sys.pg.query('SELECT phase, outcome, oauth_attempt, state_hash, attempts, error_code FROM reauthorizations WHERE id = $1', [started.id])).rows[0];
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    return { events, row, status: { phase: status.phase, outcome: status.outcome, attempts: status.attempts, error: status.error, authorizeUrl: status.authorizeUrl } };
  }

  /** The attempt once the workflow has stopped moving (its last activity's events are written after the row). */
  async function settled(started: { id: string; workflowId: string }) {
    let last = await attemptState(started);
    for (;;) {
      await new Promise((r) => setTimeout(r, 400));
      const now = await attemptState(started);
      if (JSON.stringify(now) === JSON.stringify(last)) return now;
      last = now;
    }
  }

  function callbackUrl(params: Record<string, string>): string {
    return `${sys.apiUrl}/oauth/callback?${new URLSearchParams(params)}`;
  }

  test('the continue step sets the attempt cookie: HttpOnly, SameSite=Lax, only for /oauth/callback, not Secure over http', async () => {
    const { started } = await openReauthorization('Cookie Co');
    const attempt = await beginAttempt(started.linkUrl);
    const [nameValue, ...attributes] = attempt.setCookie.split(';').map((part) => part.trim());
    assert.match(nameValue, new RegExp(`^oauth_attempt_${started.id}=[A-Za-z0-9_-]+\\.[0-9a-f]{64}\\.[A-Za-z0-9_-]+$`));
    const lower = attributes.map((a) => a.toLowerCase());
    assert.ok(lower.includes('httponly'), attempt.setCookie);
    assert.ok(lower.includes('samesite=lax'), attempt.setCookie);
    assert.ok(lower.includes('path=/oauth/callback'), attempt.setCookie);
    assert.equal(lower.includes('secure'), false, 'PUBLIC_URL is http here: a Secure cookie would never come back');
    const maxAge = Number(lower.find((a) => a.startsWith('max-age='))?.slice('max-age='.length));
    assert.ok(maxAge > 0 && maxAge <= 24 * 3600, `max-age ${maxAge}`);
    // Neither the state nor the link token is in it.
    const state = new URL(attempt.authorizeUrl).searchParams.get('state')!;
    assert.equal(attempt.setCookie.includes(state), false);
    assert.equal(attempt.setCookie.includes(started.linkToken), false);
  });

  test('a forged callback with the real state and a bogus code, without the cookie: 400, nothing signalled; the real user then completes with the same link', async () => {
    const { acct, integration, started } = await openReauthorization('Leaky State Inc');
    // The real user's browser continues to the CRM; the state leaks from there (logs, history, a screenshot).
    const attempt = await beginAttempt(started.linkUrl);
    const state = new URL(attempt.authorizeUrl).searchParams.get('state')!;
    const before = await settled(started);
    assert.equal(before.row.phase, 'awaiting_user');
    assert.equal(before.row.oauth_attempt, 1);

    const forgeries = [
      // A bogus code: the exchange would fail and open a new attempt, stranding the real user's consent page.
      callbackUrl({ state, code: 'bogus' }),
      // A refusal: would record access_denied and open a new attempt.
      callbackUrl({ state, error: 'access_denied' }),
      // A grant the exchange turns into a terminal error would end the reauthorization.
      callbackUrl({ state, code: 'bogus', error: 'invalid_grant', error_description: PHISHING }),
    ];
    const forgedCookies = [
      undefined,
      // The cookie's name for this reauthorization, with made-up values.
      `oauth_attempt_${started.id}=forged`,
      `oauth_attempt_${started.id}=${Buffer.from('cred-test').toString('base64url')}.${before.row.state_hash}.${'A'.repeat(43)}`,
    ];
    for (const url of forgeries) {
      for (const cookie of forgedCookies) {
        const page = await followCallback(url, cookie);
        assert.equal(page.status, 400, `${url} with ${cookie}: ${page.html.slice(0, 300)}`);
        assert.match(page.html, /This sign-in link was not started in this browser/);
        // Nothing about the attempt: no provider, no ids, no link token, nothing of the query.
        for (const secret of [started.linkToken, started.id, integration.id, 'HubSpot', PHISHING, 'bogus']) {
          assert.equal(page.html.includes(secret), false, `the refusal shows ${secret}`);
        }
      }
    }
    assert.deepEqual(await attemptState(started), before, 'no signal reached the workflow; attempt, phase and state are unchanged');

    // The real user: the consent page still open in their browser works, and so does the link.
    const again = await beginAttempt(started.linkUrl);
    assert.equal(again.authorizeUrl, attempt.authorizeUrl, 'the link still continues to the same attempt');
    const page = await followCallback(await consent(sys, attempt.authorizeUrl, acct.userId), attempt);
    assert.equal(page.status, 200, page.html.slice(0, 500));
    assert.match(page.html, /Connection successful/);
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    assert.equal(status.outcome, 'succeeded');
    assert.equal(status.attempts, 1, 'the one attempt the real user made');
  });

  test('a callback with the cookie of another attempt is refused: another reauthorization, or an earlier attempt of the same one', async () => {
    const mine = await openReauthorization('Mine Ltd');
    const theirs = await openReauthorization('Theirs Ltd');
    const myAttempt = await beginAttempt(mine.started.linkUrl);
    const theirAttempt = await beginAttempt(theirs.started.linkUrl);
    const theirRedirect = await consent(sys, theirAttempt.authorizeUrl, theirs.acct.userId);
    const theirsBefore = await settled(theirs.started);

    // My own, genuine cookie with their (leaked) callback; and my cookie's value under their name.
    const myValue = myAttempt.cookie.slice(myAttempt.cookie.indexOf('=') + 1);
    for (const cookie of [myAttempt.cookie, `oauth_attempt_${theirs.started.id}=${myValue}`]) {
      const page = await followCallback(theirRedirect, cookie);
      assert.equal(page.status, 400, page.html.slice(0, 300));
      assert.match(page.html, /not started in this browser/);
    }
    assert.deepEqual(await attemptState(theirs.started), theirsBefore);
    assert.equal((await attemptState(mine.started)).status.phase, 'awaiting_user');

    // Same reauthorization, earlier attempt: I refuse consent (attempt 1), a new attempt opens;
    // attempt 2's callback with attempt 1's cookie does not count.
    const denied = await followCallback(await consent(sys, myAttempt.authorizeUrl, mine.acct.userId, { decision: 'deny' }), myAttempt);
    assert.equal(denied.status, 403);
    await waitFor('attempt 2', async () => (await attemptState(mine.started)).row.oauth_attempt === 2);
    const second = await settled(mine.started);
    assert.ok(second.status.authorizeUrl);
    const secondRedirect = await consent(sys, second.status.authorizeUrl, mine.acct.userId);
    const stale = await followCallback(secondRedirect, myAttempt);
    assert.equal(stale.status, 400);
    assert.match(stale.html, /not started in this browser/);
    assert.deepEqual(await attemptState(mine.started), second, 'the stale cookie signalled nothing');

    // "Try again" in my browser binds attempt 2 to it; then that callback counts.
    const retry = await continueToCrm(`${sys.apiUrl}/oauth/callback/retry/${mine.started.id}`, myAttempt.cookie);
    assert.equal(retry.authorizeUrl, second.status.authorizeUrl);
    const done = await followCallback(secondRedirect, retry);
    assert.match(done.html, /Connection successful/);
    // "Try again" and the status page are this browser's only: without a cookie they say so.
    for (const path of ['retry', 'status']) {
      const page = await followCallback(`${sys.apiUrl}/oauth/callback/${path}/${theirs.started.id}`, myAttempt);
      assert.equal(page.status, 400, `${path}: ${page.html.slice(0, 300)}`);
      assert.equal(page.location, null);
    }
  });

  test('error_description (markup or a phishing sentence) and unknown error codes never reach a page', async () => {
    const { started, integration } = await openReauthorization('Phish Co');
    const attempt = await beginAttempt(started.linkUrl);
    const state = new URL(attempt.authorizeUrl).searchParams.get('state')!;
    const shown = (html: string) =>
      [PHISHING, SCRIPT, 'alert(document.domain)', '&lt;script', 'Call +1-555', 'weird_code_from_the_query'].filter((text) => html.includes(text));

    // A refusal of this browser's own attempt, with words of its own: our sentence for access_denied.
    const refused = await followCallback(callbackUrl({ state, error: 'access_denied', error_description: `${SCRIPT} ${PHISHING}` }), attempt);
    assert.equal(refused.status, 403, refused.html.slice(0, 300));
    assert.match(refused.html, /Access was denied on the CRM consent screen/);
    assert.deepEqual(shown(refused.html), []);
    const connectPage = await (await fetch(started.linkUrl)).text();
    assert.match(connectPage, /Access was denied/);
    assert.deepEqual(shown(connectPage), [], 'the connect page shows our sentence too');

    // An error code we do not know: a generic sentence, the code not repeated.
    const second = await continueToCrm(`${sys.apiUrl}/oauth/callback/retry/${started.id}`, attempt.cookie);
    const secondState = new URL(second.authorizeUrl).searchParams.get('state')!;
    const unknown = await followCallback(callbackUrl({ state: secondState, error: 'weird_code_from_the_query', error_description: PHISHING }), second);
    assert.equal(unknown.status, 422, unknown.html.slice(0, 300));
    assert.match(unknown.html, /The CRM did not complete the sign-in/);
    assert.match(unknown.html, /data-integration-id="[^"]+"/);
    assert.deepEqual(shown(unknown.html), []);
    assert.deepEqual(shown(await (await fetch(started.linkUrl)).text()), []);

    // The admin's record keeps what the CRM said (the API is not a page of the end customer).
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    assert.equal(status.error.code, 'weird_code_from_the_query');
    assert.equal(status.outcome, null);
    assert.equal(integration.id, status.integrationId);
  });

  test('the link token appears in no result page', async () => {
    const pages: Array<{ what: string; html: string }> = [];
    const { acct, started } = await openReauthorization('No Token Co');
    const attempt = await beginAttempt(started.linkUrl);
    const denied = await followCallback(await consent(sys, attempt.authorizeUrl, acct.userId, { decision: 'deny' }), attempt);
    pages.push({ what: 'access denied', html: denied.html });
    pages.push({ what: 'status after a refusal', html: (await followCallback(`${sys.apiUrl}/oauth/callback/status/${started.id}`, attempt)).html });
    const retry = await continueToCrm(`${sys.apiUrl}/oauth/callback/retry/${started.id}`, attempt.cookie);
    const redirectTo = await consent(sys, retry.authorizeUrl, acct.userId);
    pages.push({ what: 'not started here', html: (await followCallback(redirectTo)).html });
    const success = await followCallback(redirectTo, retry);
    assert.match(success.html, /Connection successful/);
    pages.push({ what: 'success', html: success.html });
    pages.push({ what: 'used callback', html: (await followCallback(redirectTo, retry)).html });
    const after = await followCallback(`${sys.apiUrl}/oauth/callback/status/${started.id}`, retry);
    assert.match(after.html, /Connection successful/, 'the status page shows the result');
    pages.push({ what: 'status after success', html: after.html });
    pages.push({ what: 'used link', html: await (await fetch(started.linkUrl)).text() });
    pages.push({ what: 'used link, continue', html: await (await fetch(`${started.linkUrl}/authorize`, { redirect: 'manual' })).text() });

    // A cancelled one, and a failed one (a code redeemed elsewhere: invalid_grant ends it).
    const cancelled = await openReauthorization('Cancelled Token Co');
    const cancelledAttempt = await beginAttempt(cancelled.started.linkUrl);
    const cancelledRedirect = await consent(sys, cancelledAttempt.authorizeUrl, cancelled.acct.userId);
    await api(sys, 'POST', `/v1/reauthorizations/${cancelled.started.id}/cancel`, { key: sys.keyA, body: {} });
    pages.push({ what: 'cancelled, callback', html: (await followCallback(cancelledRedirect, cancelledAttempt)).html });
    pages.push({ what: 'cancelled, status', html: (await followCallback(`${sys.apiUrl}/oauth/callback/status/${cancelled.started.id}`, cancelledAttempt)).html });
    pages.push({ what: 'cancelled, link', html: await (await fetch(cancelled.started.linkUrl)).text() });

    const tokens = [started.linkToken, cancelled.started.linkToken];
    for (const { what, html } of pages) {
      assert.ok(html.length > 100, `${what}: a page`);
      for (const token of tokens) assert.equal(html.includes(token), false, `${what} shows a link token`);
      assert.equal(html.includes('/connect/'), false, `${what} links to a connect page`);
    }
  });
});
