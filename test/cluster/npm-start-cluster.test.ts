/**
 * `npm run start:cluster` as a newcomer runs it: embedded Postgres, a Temporal cluster on it (four
 * service processes and the UI server), the sandbox CRM, two workers and two APIs behind a proxy on
 * PORT; a killed Temporal service is restarted; Ctrl-C leaves nothing behind. Started a second time
 * on the same data it finds its databases and schema in place.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { freePortBelow } from '../../libs/temporal/cluster';
import { alive, descendants, exitWithin, npmStartDataDir, npmStartEnv, npmStartPorts, recordedChildren, spawnNpmStart } from '../support/npm-start';
import { waitFor } from '../support/system';

jest.setTimeout(300_000);

describe('npm run start:cluster', () => {
  const dataDir = npmStartDataDir('start-cluster-');
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('runs the cluster topology, restarts a killed Temporal service, stops cleanly, starts again on its data', async () => {
    const ports = { ...(await npmStartPorts()), temporal: await freePortBelow(32_768) };
    // Two workers on one host: metrics listeners off (ports are per process, see start.ts).
    const env = npmStartEnv(dataDir, ports, { WORKER_METRICS_PORT: '0', TEMPORAL_SDK_METRICS_PORT: '0' });
    const run = spawnNpmStart(env, { args: ['--topology=cluster'], ownProcessGroup: true });
    try {
      await run.waitForOutput('Reauthorization engine is up (cluster topology', 240_000);
      assert.match(run.output(), /registering search attributes TenantId, IntegrationId, CrmProvider, ReauthPhase, ReauthOutcome/);

      const ready = (await (await fetch(`http://127.0.0.1:${ports.api}/ready`)).json()) as { info: { temporal: { workers: number } } };
      assert.equal(ready.info.temporal.workers, 2);
      const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
      assert.equal(ui.status, 200);
      const children = recordedChildren(dataDir);
      for (const name of ['temporal-history', 'temporal-matching', 'temporal-frontend', 'temporal-worker', 'temporal-ui', 'worker-1', 'worker-2', 'api-1', 'api-2']) {
        assert.ok(children[name], `${name} recorded (${Object.keys(children).join(', ')})`);
      }

      // Links and OAuth redirect URIs go through the proxy, the same from every process.
      for (const name of ['api-1', 'api-2', 'worker-1', 'worker-2']) {
        const environ = fs.readFileSync(`/proc/${children[name]}/environ`, 'utf8').split('\0');
        expect({ name, publicUrl: environ.find((e) => e.startsWith('PUBLIC_URL=')) }).toEqual({ name, publicUrl: `PUBLIC_URL=http://localhost:${ports.api}` });
      }

      const from = run.output().length;
      process.kill(children['temporal-history'], 'SIGKILL');
      await run.waitForOutput(/temporal-history restarted \(pid \d+/, 60_000, from);
      // The cluster serves again: the API's readiness sees Temporal.
      await waitFor('ready after the history service restarted', async () => (await fetch(`http://127.0.0.1:${ports.api}/ready`)).ok, 60_000);

      const tree = descendants(run.child.pid!);
      process.kill(-run.child.pid!, 'SIGINT');
      assert.equal(await exitWithin(run, 60_000), 0);
      for (const pid of tree) assert.equal(alive(pid), false, `pid ${pid} is gone`);
    } finally {
      if (run.child.exitCode === null) process.kill(-run.child.pid!, 'SIGKILL');
    }

    const again = spawnNpmStart(env, { args: ['--topology=cluster'], ownProcessGroup: true });
    try {
      await again.waitForOutput('Reauthorization engine is up (cluster topology', 240_000);
      assert.doesNotMatch(again.output(), /creating database|registering/);
      process.kill(-again.child.pid!, 'SIGINT');
      assert.equal(await exitWithin(again, 60_000), 0);
    } finally {
      if (again.child.exitCode === null) process.kill(-again.child.pid!, 'SIGKILL');
    }
  });
});
