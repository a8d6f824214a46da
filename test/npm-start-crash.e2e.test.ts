/**
 * `npm start` under crashes. Supervision: SIGKILL its worker, its API, its Postgres, its Temporal
 * dev server — each comes back by itself with a log line saying so, and the system keeps serving. A power cut: every process of it
 * (start.js, Temporal dev server with its SQLite file, embedded Postgres and its backends, worker,
 * API) SIGKILLed at once while reauthorizations and a token refresh are half-way through; `npm
 * start` again on the same data comes up (stale pid files, WAL recovery) and every one of them
 * completes, each credential swap exactly once. Ctrl-C then leaves no process, pid file or port behind.
 *
 * The sandbox CRM runs outside `npm start` here (SANDBOX_CRM=off): it stands for the real CRM, a
 * third party that our power cut does not reach (the sandbox keeps its accounts in memory).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { spawnService, waitForHttp, type ServiceProcess } from '../libs/dev/service-process';
import { freePort } from '../libs/temporal/dev-server';
import { diagnostic } from './support/diagnostic';
import {
  alive,
  descendants,
  exitWithin,
  npmStartDataDir,
  npmStartEnv,
  npmStartPorts,
  portFree,
  recordedChildren,
  spawnNpmStart,
  type NpmStart,
} from './support/npm-start';
import { beginAttempt, configureOAuthApp, connectedOAuthIntegration, consent, crmAccount, followCallback, sandboxStats, startReauth } from './support/oauth';
import { DIST } from './support/paths';
import { api, connectedIntegration, sandboxFault, sandboxToken, waitFor, type TestSystem } from './support/system';

/** Held at the CRM for this long: the power cut lands while the CRM has not answered (it then answers nobody). */
const HOLD_MS = 40_000;

describe('npm start: supervision and a power cut', () => {
  const dataDir = npmStartDataDir('crash-test-');
  let crm: ServiceProcess | undefined;
  const runs: NpmStart[] = [];
  afterAll(async () => {
    for (const run of runs) for (const pid of [run.child.pid!, ...descendants(run.child.pid!)]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await crm?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('SIGKILLed children come back by themselves; after a power cut everything in flight completes, each swap once; Ctrl-C leaves nothing behind', async () => {
    const t0 = Date.now();
    const since = () => `${Math.round((Date.now() - t0) / 1000)} s`;
    const crmPort = await freePort();
    const crmUrl = `http://127.0.0.1:${crmPort}`;
    crm = spawnService('sandbox-crm', path.join(DIST, 'apps/sandbox-crm/main.js'), { ...process.env, SANDBOX_CRM_PORT: String(crmPort) }, () => undefined);
    await waitForHttp(`${crmUrl}/health`, 30_000, crm.child);

    const ports = await npmStartPorts();
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const env = npmStartEnv(dataDir, ports, {
      PUBLIC_URL: apiUrl,
      SANDBOX_CRM: 'off',
      SANDBOX_CRM_URL: crmUrl,
      REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0',
      WORKER_METRICS_PORT: '0',
      TEMPORAL_SDK_METRICS_PORT: '0',
    });
    const first = spawnNpmStart(env, { ownProcessGroup: true });
    runs.push(first);
    await first.waitForOutput('Reauthorization engine is up.', 180_000);
    diagnostic(`up after ${since()}`);
    const sys = { apiUrl, sandboxUrl: crmUrl, keyA: fs.readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim() } as TestSystem;

    // --- Supervision: the worker, then the API, SIGKILLed; each is back by itself.
    for (const name of ['worker', 'api']) {
      const pid = recordedChildren(dataDir)[name];
      const from = first.output().length;
      process.kill(pid, 'SIGKILL');
      await first.waitForOutput(new RegExp(`${name} exited unexpectedly \\(signal SIGKILL\\) after [\\d.]+ s; restarting in 500 ms \\(attempt 1\\)`), 20_000, from);
      await first.waitForOutput(`${name} restarted (pid `, 20_000, from);
      const now = recordedChildren(dataDir)[name];
      assert.notEqual(now, pid, `a new ${name} process`);
      assert.ok(descendants(first.child.pid!).includes(now), `the new ${name} is a child of npm start`);
    }
    // A second death in a row waits twice as long.
    {
      const from = first.output().length;
      process.kill(recordedChildren(dataDir).worker, 'SIGKILL');
      await first.waitForOutput(/worker exited unexpectedly \(signal SIGKILL\) after [\d.]+ s; restarting in 1000 ms \(attempt 2\)/, 20_000, from);
      await first.waitForOutput('worker restarted (pid ', 20_000, from);
    }
    // Postgres and the Temporal dev server too: back on the same data, and the API and worker reconnect.
    for (const name of ['postgres', 'temporal']) {
      const from = first.output().length;
      process.kill(recordedChildren(dataDir)[name], 'SIGKILL');
      await first.waitForOutput(new RegExp(`${name} exited unexpectedly \\(signal SIGKILL\\) after [\\d.]+ s; restarting in 500 ms \\(attempt 1\\)`), 20_000, from);
      await first.waitForOutput(`${name} restarted (pid `, 60_000, from);
    }
    await waitForHttp(`${apiUrl}/ready?require=worker`, 90_000);
    diagnostic(`worker, API, Postgres and Temporal restarted after ${since()}`);

    // --- The system keeps serving: integrations are connected through the restarted API and worker.
    const tokenIntegrations = [await connectedIntegration(sys), await connectedIntegration(sys), await connectedIntegration(sys)];
    await configureOAuthApp(sys, 'hubspot', { key: sys.keyA, extra: { rotateRefreshTokens: true } });
    const oauthUser = await crmAccount(sys, 'Globex');
    const refreshed = await connectedOAuthIntegration(sys, 'hubspot', oauthUser.userId);
    const reauthUser = await crmAccount(sys, 'Initech');
    const reauthorized = await connectedOAuthIntegration(sys, 'hubspot', reauthUser.userId);
    diagnostic(`integrations connected after ${since()}`);

    // --- Operations half-way through when the power goes: two API-token reauthorizations validating
    // their new token at the CRM, one open (waiting for its token), one OAuth reauthorization
    // exchanging its code, one refresh of OAuth tokens (with rotation) at the token endpoint.
    const reauths = [];
    for (const t of tokenIntegrations) reauths.push((await api(sys, 'POST', `/v1/integrations/${t.integration.id}/reauthorizations`, { key: sys.keyA, body: {} })).body);
    const newTokens = await Promise.all(tokenIntegrations.map((t) => sandboxToken(sys, t.accountId)));
    const oauthReauth = await startReauth(sys, reauthorized.id);
    const attempt = await beginAttempt(oauthReauth.linkUrl);
    const redirectTo = await consent(sys, attempt.authorizeUrl, reauthUser.userId);

    const statsBefore = await sandboxStats(sys);
    await sandboxFault(sys, { pathPrefix: '/api/v1/me', delayMs: HOLD_MS, count: 2 });
    await sandboxFault(sys, { pathPrefix: '/hubspot/oauth/v1/token', delayMs: HOLD_MS, count: 2 });
    const lost: Promise<unknown>[] = [];
    for (const i of [0, 1]) lost.push(api(sys, 'POST', `/v1/reauthorizations/${reauths[i].id}/api-token`, { key: sys.keyA, body: { apiToken: newTokens[i] } }).catch((e: unknown) => e));
    lost.push(followCallback(redirectTo, attempt).catch((e: unknown) => e));
    const refreshAsked = await api(sys, 'POST', `/v1/integrations/${refreshed.id}/refresh`, { key: sys.keyA });
    assert.equal(refreshAsked.status, 202, refreshAsked.text);
    await waitFor(
      'the two validations and the two token requests held at the CRM',
      async () => {
        const s = await sandboxStats(sys);
        const more = (k: string) => (s[k] ?? 0) - (statsBefore[k] ?? 0);
        return more('GET /api/v1/me') >= 2 && more('POST /hubspot/oauth/v1/token') >= 2;
      },
      30_000,
    );
    for (const i of [0, 1]) assert.equal((await api(sys, 'GET', `/v1/reauthorizations/${reauths[i].id}`, { key: sys.keyA })).body.phase, 'validating');
    assert.equal((await api(sys, 'GET', `/v1/reauthorizations/${oauthReauth.id}`, { key: sys.keyA })).body.phase, 'exchanging');

    // --- The power cut: SIGKILL to the whole process group at once.
    const tree = [first.child.pid!, ...descendants(first.child.pid!)];
    const children = recordedChildren(dataDir);
    assert.ok(tree.includes(children.postgres) && tree.includes(children.temporal), 'Postgres and the Temporal dev server are part of the tree');
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;
    await waitFor('every process gone', async () => tree.every((pid) => !alive(pid)), 10_000);
    await Promise.all(lost);
    diagnostic(`power cut after ${since()}: ${tree.length} processes killed`);
    assert.ok(fs.existsSync(path.join(dataDir, 'npm-start.pid')), 'the cut left npm start’s pid file');
    assert.ok(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'the cut left Postgres’s postmaster.pid');

    // --- npm start again on the same data and ports.
    const second = spawnNpmStart(env, { ownProcessGroup: true });
    runs.push(second);
    await second.waitForOutput('Reauthorization engine is up.', 180_000);
    assert.match(second.output(), /the previous npm start \(pid \d+\) did not stop cleanly/);
    assert.match(second.output(), /removing the stale postmaster\.pid of a Postgres that did not stop \(pid \d+ is gone\)/);
    diagnostic(`up again after ${since()}`);

    // Every operation that was in flight completes by itself (Temporal retries the activities the cut interrupted).
    for (const r of [reauths[0], reauths[1], oauthReauth]) {
      const done = await waitFor(
        `reauthorization ${r.id} completed`,
        async () => {
          const s = await api(sys, 'GET', `/v1/reauthorizations/${r.id}`, { key: sys.keyA });
          return s.body?.outcome ? s.body : undefined;
        },
        120_000,
      );
      assert.equal(done.outcome, 'succeeded', JSON.stringify(done));
    }
    // The open one takes its token now.
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${reauths[2].id}/api-token`, { key: sys.keyA, body: { apiToken: newTokens[2] } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');

    const pg = new PgClient({ connectionString: `postgres://postgres:postgres@127.0.0.1:${ports.pg}/reauth` });
    await pg.connect();
    try {
      const versions = async (integrationId: string) =>
        (await pg.query(`SELECT version, state FROM credential_versions WHERE integration_id = $1 AND state IN ('active', 'superseded') ORDER BY version`, [integrationId])).rows as { version: number; state: string }[];
      await waitFor('the interrupted refresh stored its rotated tokens', async () => (await versions(refreshed.id)).length === 2, 120_000);
      // The rotated refresh token we stored is the live one at the CRM: the next refresh works.
      const again = await api(sys, 'POST', `/v1/integrations/${refreshed.id}/refresh`, { key: sys.keyA });
      assert.equal(again.status, 202, again.text);
      await waitFor('a refresh with the stored refresh token', async () => (await versions(refreshed.id)).length === 3, 60_000);
      const status = await api(sys, 'GET', `/v1/integrations/${refreshed.id}`, { key: sys.keyA });
      assert.equal(status.body.status, 'active', JSON.stringify(status.body));

      // Exactly once: versions contiguous from 1 with one active, one swap per reauthorization.
      const expected: [string, number][] = [...tokenIntegrations.map((t) => [t.integration.id, 2] as [string, number]), [reauthorized.id, 2], [refreshed.id, 3]];
      for (const [id, n] of expected) {
        assert.deepEqual(
          await versions(id),
          Array.from({ length: n }, (_, i) => ({ version: i + 1, state: i + 1 === n ? 'active' : 'superseded' })),
          `credential versions of ${id}`,
        );
      }
      for (const r of [...reauths, oauthReauth]) {
        const swaps = await pg.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'credentials.swapped' AND data->>'reauthorizationId' = $1`, [r.id]);
        assert.equal(swaps.rows[0].n, 1, `one credentials.swapped event for reauthorization ${r.id}`);
      }
    } finally {
      await pg.end();
    }
    diagnostic(`everything completed after ${since()}`);

    // --- Ctrl-C, as a terminal sends it (to the whole process group): everything stops, nothing is left.
    const tree2 = [second.child.pid!, ...descendants(second.child.pid!)];
    const from = second.output().length;
    process.kill(-second.child.pid!, 'SIGINT');
    const code = await exitWithin(second, 90_000);
    assert.equal(code, 0, second.output().slice(-3000));
    assert.doesNotMatch(second.output().slice(from), /exited unexpectedly|restarting in/, 'a child stopped by the Ctrl-C is not a crash');
    await waitFor('no process left', async () => tree2.every((pid) => !alive(pid)), 10_000).catch(() => undefined);
    assert.deepEqual(tree2.filter(alive), [], 'no process left behind');
    for (const [name, port] of Object.entries(ports)) {
      if (name === 'crm') continue;
      assert.ok(await portFree(port), `port ${port} (${name}) is free`);
    }
    assert.ok(!fs.existsSync(path.join(dataDir, 'npm-start.pid')), 'npm-start.pid removed');
    assert.ok(!fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'postmaster.pid removed');
    diagnostic(`stopped after ${since()}`);
  }, 900_000);
});
