/**
 * How the dev tooling gets a Temporal CLI (libs/temporal/dev-server.ts provisionTemporalCli), in a
 * fake environment: PATH, the project folder and the per-user cache are temporary directories, and
 * `go` is a shell script. Order: TEMPORAL_CLI_PATH, PATH, .temporal/bin, the user cache (built, then
 * downloaded), else `go install`, else the Temporal SDK's download; each step says what it tries.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DevToolsConfig } from '../../libs/config/config';
import { findTemporalCli, provisionTemporalCli, sdkDownloadDir, TEMPORAL_CLI_VERSION, userCachePath } from '../../libs/temporal/dev-server';

const ROOT = path.join(__dirname, '..', '..');
let tmp: string;
let project: string;
let emptyBin: string;
let tools: DevToolsConfig;
let lines: string[];
const log = (l: string) => lines.push(l);

function executable(file: string, script = '#!/bin/sh\necho fake temporal\n'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script, { mode: 0o755 });
  return file;
}

/** A download that must not happen. */
const noDownload = jest.fn(async () => {
  throw new Error('download attempted');
});

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-'));
  project = path.join(tmp, 'project');
  emptyBin = path.join(tmp, 'empty-bin');
  fs.mkdirSync(project, { recursive: true });
  fs.mkdirSync(emptyBin, { recursive: true });
  tools = { cacheDir: path.join(tmp, 'cache'), searchPath: [emptyBin] };
  lines = [];
  noDownload.mockClear();
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('an existing Temporal CLI is used as it is, quietly, in a fixed order', () => {
  test('TEMPORAL_CLI_PATH wins over everything, and a wrong one is an error, not a fallback', async () => {
    const explicit = executable(path.join(tmp, 'explicit', 'temporal'));
    executable(path.join(emptyBin, 'temporal'));
    expect(await provisionTemporalCli(project, log, { ...tools, temporalCliPath: explicit }, { download: noDownload })).toEqual({ path: explicit, source: 'TEMPORAL_CLI_PATH' });
    await expect(provisionTemporalCli(project, log, { ...tools, temporalCliPath: path.join(tmp, 'nope') }, { download: noDownload })).rejects.toThrow(
      `TEMPORAL_CLI_PATH=${path.join(tmp, 'nope')} is not an executable file`,
    );
    expect(lines).toEqual([]);
  });

  test('then PATH, then the project, then the cache of a build, then a CLI the SDK downloaded before', async () => {
    const downloaded = executable(path.join(sdkDownloadDir(tools), 'temporal-sdk-typescript-1.24.0'));
    expect(findTemporalCli(project, tools)).toEqual({ path: downloaded, source: 'sdk-download' });
    // Left-overs of an interrupted download are not a CLI.
    executable(path.join(sdkDownloadDir(tools), 'temporal-sdk-typescript-1.25.0.downloading'));
    expect(findTemporalCli(project, tools)).toEqual({ path: downloaded, source: 'sdk-download' });
    const cached = executable(userCachePath(tools));
    expect(findTemporalCli(project, tools)).toEqual({ path: cached, source: 'user-cache' });
    const inProject = executable(path.join(project, '.temporal', 'bin', 'temporal'));
    expect(findTemporalCli(project, tools)).toEqual({ path: inProject, source: 'project' });
    const onPath = executable(path.join(emptyBin, 'temporal'));
    expect(await provisionTemporalCli(project, log, tools, { download: noDownload, goLocations: [] })).toEqual({ path: onPath, source: 'PATH' });
    expect(noDownload).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  test("the project's CLI is copied into the user cache, so the next clone finds it", async () => {
    executable(path.join(project, '.temporal', 'bin', 'temporal'), '#!/bin/sh\necho project build\n');
    expect((await provisionTemporalCli(project, log, tools, { download: noDownload })).source).toBe('project');
    expect(fs.readFileSync(userCachePath(tools), 'utf8')).toContain('project build');
    expect(path.basename(userCachePath(tools))).toBe(`temporal-${TEMPORAL_CLI_VERSION}`);
  });
});

describe('no CLI, Go present: go install, with progress', () => {
  /** A `go` that prints what `go install -v` prints, takes a while, and writes $GOBIN/temporal. */
  const fakeGo = (body: string) =>
    executable(
      path.join(tmp, 'go-bin', 'go'),
      `#!/bin/sh\necho "$@" > "${path.join(tmp, 'go-args')}"\necho "GOBIN=$GOBIN GOFLAGS=$GOFLAGS" >> "${path.join(tmp, 'go-args')}"\n${body}\n`,
    );

  test('builds into .temporal/bin and the user cache, summarizing go -v output while it runs; no download', async () => {
    const go = fakeGo(
      [
        'echo "go: downloading go.temporal.io/server v1.29.1" >&2',
        'echo "go: downloading google.golang.org/grpc v1.70.0" >&2',
        'for p in go.temporal.io/api/common/v1 go.temporal.io/server/common github.com/temporalio/cli/internal/temporalcli; do echo $p >&2; sleep 0.1; done',
        'sleep 0.3',
        'printf "#!/bin/sh\\necho built\\n" > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"',
      ].join('\n'),
    );
    const cli = await provisionTemporalCli(project, log, { ...tools, searchPath: [path.dirname(go)] }, { download: noDownload, progressEveryMs: 150 });
    const built = path.join(project, '.temporal', 'bin', 'temporal');
    expect(cli).toEqual({ path: built, source: 'go-install' });
    expect(fs.readFileSync(userCachePath(tools), 'utf8')).toContain('built');
    expect(noDownload).not.toHaveBeenCalled();
    const args = fs.readFileSync(path.join(tmp, 'go-args'), 'utf8');
    expect(args).toContain(`install -v github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`);
    expect(args).toContain(`GOBIN=${path.dirname(built)} GOFLAGS=-mod=mod`);

    expect(lines[0]).toMatch(/^Temporal CLI: not found \(looked at TEMPORAL_CLI_PATH \(unset\), PATH, .*\.temporal\/bin, .*temporal-v1\.5\.1, .*sdk-download\)$/);
    expect(lines[1]).toBe(`Temporal CLI: Go found at ${go}; building github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION} with go install (a few minutes, once; then cached in ${userCachePath(tools)})…`);
    const still = lines.filter((l) => l.startsWith('Temporal CLI: still building… '));
    expect(still.length).toBeGreaterThanOrEqual(2);
    expect(still[still.length - 1]).toMatch(/still building… \d+ s \(2 modules downloaded, 3 packages compiled; last github\.com\/temporalio\/cli\/internal\/temporalcli\)$/);
    expect(lines.filter((l) => /^Temporal CLI: go install finished in \d+ s \(2 modules downloaded, 3 packages compiled\)$/.test(l))).toHaveLength(1);
    // go's package lines are summarized, not printed one by one.
    expect(lines.some((l) => l.trim() === 'go.temporal.io/server/common')).toBe(false);
  });

  test('a failed build says so with go\'s error lines, and does not fall back to a download', async () => {
    const go = fakeGo(['echo "go.temporal.io/api/common/v1" >&2', 'echo "go: go.temporal.io/server@v1.29.1 requires go >= 1.25 (running go 1.21)" >&2', 'exit 1'].join('\n'));
    await expect(provisionTemporalCli(project, log, { ...tools, searchPath: [path.dirname(go)] }, { download: noDownload })).rejects.toThrow(
      /go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1 failed \(exit 1\) after \d+ s:\ngo: go\.temporal\.io\/server@v1\.29\.1 requires go >= 1\.25 \(running go 1\.21\)$/,
    );
    expect(noDownload).not.toHaveBeenCalled();
  });

  test('Go outside PATH at a known place is found too', async () => {
    const go = fakeGo('printf "#!/bin/sh\\n" > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"');
    const cli = await provisionTemporalCli(project, log, tools, { download: noDownload, goLocations: [path.join(tmp, 'no-go-here'), go] });
    expect(cli.source).toBe('go-install');
    expect(lines[1]).toContain(`Go found at ${go}`);
  });
});

describe('no CLI and no Go: the Temporal SDK downloads the dev server', () => {
  test('the download is tried next, into the user cache, with progress; its CLI is used and found again later', async () => {
    const download = jest.fn(async (dir: string) => {
      const partial = path.join(dir, 'temporal-sdk-typescript-1.24.0.downloading');
      fs.writeFileSync(partial, Buffer.alloc(3 * 1024 * 1024));
      await new Promise((r) => setTimeout(r, 400));
      fs.chmodSync(partial, 0o755);
      fs.renameSync(partial, path.join(dir, 'temporal-sdk-typescript-1.24.0'));
    });
    const cli = await provisionTemporalCli(project, log, tools, { download, goLocations: [path.join(tmp, 'no-go')], progressEveryMs: 100 });
    const dir = sdkDownloadDir(tools);
    expect(download).toHaveBeenCalledWith(dir);
    expect(cli).toEqual({ path: path.join(dir, 'temporal-sdk-typescript-1.24.0'), source: 'sdk-download' });
    expect(lines[1]).toBe(`Temporal CLI: Go not found (PATH, ${path.join(tmp, 'no-go')}); trying the Temporal SDK's download of the dev server into ${dir}…`);
    expect(lines.filter((l) => /^Temporal CLI: still downloading… \d+ s \(3\.0 MiB so far\)$/.test(l)).length).toBeGreaterThanOrEqual(2);
    expect(lines[lines.length - 1]).toBe(`Temporal CLI: downloaded ${cli.path}`);
    // Next time it is simply found.
    lines = [];
    expect(await provisionTemporalCli(project, log, tools, { download: noDownload, goLocations: [] })).toEqual(cli);
    expect(lines).toEqual([]);
  });

  test('a download that leaves no executable is an error', async () => {
    await expect(provisionTemporalCli(project, log, tools, { download: async () => undefined, goLocations: [] })).rejects.toThrow(
      `the Temporal SDK reported a download, but ${sdkDownloadDir(tools)} holds no executable temporal file`,
    );
  });

  test("the SDK's real download is attempted; when it cannot reach the download service, the error names every step and what to do", async () => {
    // A process of its own (the SDK's native HTTP client reads the real environment, which jest does
    // not give a test), whose proxy refuses connections: no network, on any machine.
    const env: NodeJS.ProcessEnv = { ...process.env, HTTPS_PROXY: 'http://127.0.0.1:1', https_proxy: 'http://127.0.0.1:1' };
    delete env.NO_PROXY;
    delete env.no_proxy;
    env.TS_NODE_COMPILER_OPTIONS = JSON.stringify({ module: 'CommonJS', moduleResolution: 'node10' });
    const script = [
      "const { provisionTemporalCli } = require('./libs/temporal/dev-server');",
      'const [project, tools] = JSON.parse(process.argv[1]);',
      'provisionTemporalCli(project, (l) => console.log(l), tools, { goLocations: [] })',
      '  .then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });',
    ].join('\n');
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script, JSON.stringify([project, tools])], { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      ),
    );
    expect(run.stdout).toContain(`Temporal CLI: Go not found (PATH, no other place); trying the Temporal SDK's download of the dev server into ${sdkDownloadDir(tools)}…`);
    expect({ code: run.code, message: run.stderr.trimEnd().split('\n') }).toEqual({
      code: 3,
      message: [
        'No Temporal CLI, and none could be built or downloaded:',
        `  - not found at TEMPORAL_CLI_PATH (unset), on PATH, in ${path.join(project, '.temporal', 'bin')} or in ${path.join(tools.cacheDir, 'reauth-engine')}`,
        '  - Go is not installed (not on PATH nor at -), so it cannot be built',
        expect.stringMatching(/^ {2}- the Temporal SDK's download of the dev server failed: .*failed to download ephemeral server executable.*(Connection refused|tunnel error)/),
        'Do one of: install Go >= 1.25 and run `npm run temporal:cli`; install the Temporal CLI yourself and set TEMPORAL_CLI_PATH (or put `temporal` on PATH);',
        'retry when the download service is reachable (a proxy goes in HTTPS_PROXY); or point TEMPORAL_ADDRESS at a running Temporal server.',
      ],
    });
    // Nothing half-downloaded is left to be mistaken for a CLI.
    expect(findTemporalCli(project, tools)).toBeUndefined();
  }, 120_000);
});
