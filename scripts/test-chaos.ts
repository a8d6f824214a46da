/**
 * `npm run test:chaos [-- --operations=N --seed=N --concurrency=N]`: runs jest's chaos group
 * (test/chaos/) with the flags turned into CHAOS_OPERATIONS, CHAOS_SEED and CHAOS_CONCURRENCY.
 * Exits with jest's code: non-zero when an invariant broke.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const FLAGS: Record<string, string> = { operations: 'CHAOS_OPERATIONS', seed: 'CHAOS_SEED', concurrency: 'CHAOS_CONCURRENCY' };

const env: NodeJS.ProcessEnv = { ...process.env };
const passThrough: string[] = [];
for (const arg of process.argv.slice(2)) {
  const flag = /^--(\w+)=(.*)$/.exec(arg);
  const name = flag ? FLAGS[flag[1]!] : undefined;
  if (flag && name) env[name] = flag[2];
  else passThrough.push(arg);
}
const root = path.resolve(__dirname, '..', '..');
const jest = require.resolve('jest/bin/jest', { paths: [root] });
const run = spawnSync(process.execPath, [jest, '--selectProjects', 'chaos', '--runInBand', ...passThrough], { cwd: root, env, stdio: 'inherit' });
process.exit(run.status ?? 1);
