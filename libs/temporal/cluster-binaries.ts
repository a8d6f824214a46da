import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDevToolsConfig, type DevToolsConfig } from '../config/config';
import { copyExecutable, goInstall, isExecutable, onPath, type GoInstallJob } from './go-install';

/**
 * The Temporal server of the cluster topology, its schema tool and the Temporal UI server, each
 * built once with `go install` (the only way to get them on a machine without Docker or downloads)
 * and cached under `<cache>/reauth-engine/`, where fresh clones and CI find them again.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.31.2';
export const TEMPORAL_UI_SERVER_VERSION = 'v2.55.0';

export interface ClusterBinaries {
  /** `temporal-server start --config-file …` (all four services in one process, or one per `--service`). */
  server: string;
  /** `temporal-sql-tool` creates the databases and applies the schema versions. */
  sqlTool: string;
  /** The Temporal UI server (web console for operators). */
  uiServer: string;
}

interface Build extends GoInstallJob {
  /** Which cached file each of `binaries` becomes. */
  cachedAs: readonly (keyof ClusterBinaries)[];
}

const BUILDS: readonly Build[] = [
  {
    label: `Temporal server ${TEMPORAL_SERVER_VERSION}`,
    // One module, so one go install builds both (they share most packages).
    packages: [`go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`, `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`],
    binaries: ['server', 'sql'],
    cachedAs: ['server', 'sqlTool'],
  },
  {
    label: `Temporal UI server ${TEMPORAL_UI_SERVER_VERSION}`,
    packages: [`github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`],
    binaries: ['server'],
    cachedAs: ['uiServer'],
  },
];

export function clusterBinaryPaths(tools: DevToolsConfig = loadDevToolsConfig()): ClusterBinaries {
  const dir = path.join(tools.cacheDir, 'reauth-engine');
  return {
    server: path.join(dir, `temporal-server-${TEMPORAL_SERVER_VERSION}`),
    sqlTool: path.join(dir, `temporal-sql-tool-${TEMPORAL_SERVER_VERSION}`),
    uiServer: path.join(dir, `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION}`),
  };
}

/** The cached binaries when all three are there, otherwise undefined (nothing is built). */
export function findClusterBinaries(tools: DevToolsConfig = loadDevToolsConfig()): ClusterBinaries | undefined {
  const paths = clusterBinaryPaths(tools);
  return Object.values(paths).every(isExecutable) ? paths : undefined;
}

/**
 * Builds whatever of the three is not cached yet (the first time: 10 minutes on 2 idle cores, up to
 * 40 on a loaded machine, mostly compiling the server), reporting progress every `progressEveryMs`. Throws with what to do
 * when Go is missing or a build fails.
 */
export async function provisionClusterBinaries(
  log: (msg: string) => void = console.log,
  tools: DevToolsConfig = loadDevToolsConfig(),
  options: { goLocations?: readonly string[]; progressEveryMs?: number } = {},
): Promise<ClusterBinaries> {
  const paths = clusterBinaryPaths(tools);
  const todo = BUILDS.filter((b) => b.cachedAs.some((k) => !isExecutable(paths[k])));
  if (!todo.length) return paths;
  const goLocations = options.goLocations ?? ['/usr/local/go/bin/go'];
  const go = onPath('go', tools) ?? goLocations.find(isExecutable);
  if (!go) {
    throw new Error(
      `The cluster topology needs ${todo.map((b) => b.label).join(' and ')}, built with Go, and Go is not installed (not on PATH nor at ${goLocations.join(', ')}). ` +
        'Install Go >= 1.25 and run `npm run cluster:provision`, or run the system on the dev server (`npm start`).',
    );
  }
  for (const build of todo) {
    log(`${build.label}: not in ${path.dirname(paths.server)}; building with ${go} install (once; the server took 10 minutes on 2 idle cores, the UI server 30 s)…`);
    const gobin = path.join(tools.cacheDir, 'reauth-engine', 'go-build', build.cachedAs.join('-'));
    const built = await goInstall(go, build, gobin, log, options.progressEveryMs ?? 30_000);
    built.forEach((binary, i) => copyExecutable(binary, paths[build.cachedAs[i]]));
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  return paths;
}
