/**
 * startDevServer (libs/temporal/dev-server.ts) with a fake CLI: a Node script that, like
 * `temporal server start-dev`, listens on its `--port`, or exits the way the real one does when it
 * loses a port race while starting. A server that exits while starting is started again (at most 3
 * times in all), and each restart, and the final error, says what it printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DevServerExitedError, freePort, startDevServer, type DevServer } from '../../libs/temporal/dev-server';

let tmp: string;
let started: DevServer | undefined;

/**
 * A fake CLI: the first `failures` starts print a bind error and exit 1; later ones print a line and
 * listen on --port until killed. Each start is counted in `<tmp>/starts`.
 */
function fakeCli(failures: number): string {
  const file = path.join(tmp, 'temporal');
  const counter = path.join(tmp, 'starts');
  fs.writeFileSync(
    file,
    `#!${process.execPath}
const fs = require('node:fs');
const n = (fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) : 0) + 1;
fs.writeFileSync(${JSON.stringify(counter)}, String(n));
const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
if (n <= ${failures}) {
  console.error('start ' + n + ': listen tcp 127.0.0.1:40123: bind: address already in use');
  process.exit(1);
}
console.log('start ' + n + ': Server: localhost:' + port);
require('node:net').createServer().listen(port, '127.0.0.1');
`,
    { mode: 0o755 },
  );
  return file;
}

const starts = () => Number(fs.readFileSync(path.join(tmp, 'starts'), 'utf8'));

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-server-start-'));
});

afterEach(async () => {
  await started?.stop();
  started = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a server that exits while starting is started again, and the restart says what it printed', async () => {
  const restarts: string[] = [];
  const port = await freePort();
  started = await startDevServer({ cliPath: fakeCli(2), port, headless: true, onRestart: (reason) => restarts.push(reason) });
  expect(started.address).toBe(`127.0.0.1:${port}`);
  expect(starts()).toBe(3);
  expect(restarts).toHaveLength(2);
  expect(restarts[0]).toMatch(/exited \(1\) while starting; its last output:\nstart 1: listen tcp .*address already in use; starting it again \(attempt 2 of 3\)/);
  expect(restarts[1]).toMatch(/start 2: .*attempt 3 of 3/);
  expect(started.recentOutput()).toBe(`start 3: Server: localhost:${port}`);
});

test('after three exits it gives up with the last output in the error', async () => {
  const restarts: string[] = [];
  const error = await startDevServer({ cliPath: fakeCli(5), port: await freePort(), headless: true, onRestart: (reason) => restarts.push(reason) }).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(DevServerExitedError);
  expect((error as Error).message).toMatch(/temporal dev server exited \(1\) while starting; its last output:\nstart 3: .*address already in use$/);
  expect(starts()).toBe(3);
  expect(restarts).toHaveLength(2);
});

test('with a log file, the output goes there and recentOutput reads its last lines', async () => {
  const logFile = path.join(tmp, 'logs', 'temporal.log');
  const port = await freePort();
  started = await startDevServer({ cliPath: fakeCli(1), port, headless: true, logFile });
  // The first start's error and the second's line, both in the file; the file is appended to.
  expect(fs.readFileSync(logFile, 'utf8')).toMatch(/start 1: .*address already in use\nstart 2: Server/);
  expect(started.recentOutput().split('\n').slice(-1)[0]).toBe(`start 2: Server: localhost:${port}`);
});

test('the output kept in memory is bounded, even a line that never ends', async () => {
  const file = path.join(tmp, 'temporal');
  fs.writeFileSync(
    file,
    `#!${process.execPath}
const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
for (let i = 0; i < 100; i++) process.stdout.write('line ' + i + ' ' + 'x'.repeat(5000) + '\\n');
process.stdout.write('y'.repeat(100000));
require('node:net').createServer().listen(port, '127.0.0.1');
`,
    { mode: 0o755 },
  );
  started = await startDevServer({ cliPath: file, port: await freePort(), headless: true });
  await new Promise((r) => setTimeout(r, 200));
  const lines = started.recentOutput().split('\n');
  expect(lines.length).toBeLessThanOrEqual(41);
  expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(2000);
  expect(lines[lines.length - 2]).toMatch(/^line 99 x+$/);
  expect(lines[lines.length - 1]).toMatch(/^y+$/);
});
