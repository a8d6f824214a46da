/**
 * The front door: `npm start` (here `node dist/scripts/start.js`, what it runs after building)
 * brings the whole system up on embedded defaults — Temporal dev server, embedded Postgres,
 * sandbox CRM, worker, API — the README's walk-through succeeds against it as written, and
 * Ctrl-C (SIGINT) leaves no process behind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../libs/temporal/dev-server';
import { ROOT } from './support/paths';
import { diagnostic } from './support/diagnostic';
import { alive, descendants } from './support/npm-start';

function walkthroughScript(name = 'walkthrough'): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- ${name}:start -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(readme);
  assert.ok(m, `README has a ${name} block`);
  return m[1];
}

describe('npm start', () => {
  // A fresh clone has no .data yet.
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(ROOT, '.data', 'start-test-'));
  fs.chmodSync(dataDir, 0o755);
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('brings the system up, the README walk-through works against it, Ctrl-C leaves nothing behind', async () => {
    const t0 = Date.now();
    const ports = { api: await freePort(), crm: await freePort(), temporal: await freePort(), ui: await freePort(), pg: await freePort() };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      SANDBOX_CRM_PORT: String(ports.crm),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      EMBEDDED_POSTGRES_PORT: String(ports.pg),
      LOG_FORMAT: 'json',
    };
    for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'BOOTSTRAP_API_KEYS', 'CREDENTIALS_KEYS', 'PAYLOAD_CODEC_KEYS', 'SANDBOX_CRM_URL', 'PUBLIC_URL']) delete env[k];

    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'start.js')], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    try {
      const deadline = Date.now() + 180_000;
      while (!output.includes('Reauthorization engine is up.')) {
        if (child.exitCode !== null) assert.fail(`npm start exited early:\n${output.slice(-3000)}`);
        if (Date.now() > deadline) assert.fail(`npm start did not come up:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      diagnostic(`up after ${Date.now() - t0} ms`);
      const devKey = fs.readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim();
      assert.ok(output.includes(devKey), 'the dev API key is printed');
      assert.ok(output.includes(`http://localhost:${ports.api}`), 'the API URL is printed');
      assert.ok(output.includes(`http://localhost:${ports.ui}`), 'the Temporal UI URL is printed');
      const ui = await fetch(`http://localhost:${ports.ui}/`);
      assert.equal(ui.status, 200, 'the Temporal UI answers');

      const script = walkthroughScript();
      const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, API: `http://localhost:${ports.api}`, CRM: `http://localhost:${ports.crm}`, DATA_DIR: dataDir },
        timeout: 60_000,
      });
      diagnostic(`walk-through done after ${Date.now() - t0} ms`);
      assert.equal(run.status, 0, `walk-through failed:\n${run.stdout}\n${run.stderr}`);
      // The last block prints the integration after the swap: version 2, config untouched.
      assert.match(run.stdout, /"version": 2/);
      assert.match(run.stdout, /"syncContacts": true/);
      assert.match(run.stdout, /"outcome": "succeeded"/);
      assert.match(run.stdout, /"code": "invalid_credentials"/);

      const oauth = spawnSync('bash', ['-euo', 'pipefail', '-c', walkthroughScript('oauth-walkthrough')], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, API: `http://localhost:${ports.api}`, CRM: `http://localhost:${ports.crm}`, DATA_DIR: dataDir },
        timeout: 60_000,
      });
      assert.equal(oauth.status, 0, `OAuth walk-through failed:\n${oauth.stdout}\n${oauth.stderr}`);
      assert.equal(oauth.stdout.match(/Connection successful/g)?.length, 2);
      assert.match(oauth.stdout, /"version": 2/);
      assert.match(oauth.stdout, /crm\.objects\.tickets\.read/);
    } finally {
      const tree = descendants(child.pid!);
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 60_000)))]);
      clearTimeout(timer);
      diagnostic(`stopped after ${Date.now() - t0} ms`);
      const left = tree.filter(alive);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      assert.notEqual(code, 'timeout', 'npm start stopped on SIGINT');
      assert.equal(code, 0);
      assert.ok(tree.length >= 4, `started its processes (${tree.length})`);
      assert.deepEqual(left, [], 'no process left behind');
    }
  }, 240_000);
});
