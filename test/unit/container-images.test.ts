/**
 * The Dockerfile, .dockerignore and docker-compose.yml, checked without a Docker engine: the
 * Dockerfile's stages and what the runtime stage holds (production dependencies, compiled code and
 * the files read at run time; no sources; an unprivileged user; one entrypoint with a command per
 * process), and the compose file's services, ports and settings (each variable a setting of the
 * catalogue and the README's table, each value accepted by the setting's own parser).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { APP_SECTION, SANDBOX_CRM_SECTION } from '../../libs/config/config';
import { parseSections } from '../../libs/config/schema';
import { ALL_SETTINGS } from '../../libs/config/settings';
import { readmeSettingNames } from '../../libs/config/settings-table';
import { KeyRing } from '../../libs/crypto/key-ring';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

// ---- Dockerfile ----------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile's instructions (continuation lines joined, comments and parser directives left out), per stage. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (!pending) startLine = i + 1;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(pending)!;
    instructions.push({ keyword: keyword.toUpperCase(), args, line: startLine });
    pending = '';
  });
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      const image = m[1].replace(/^\$\{(\w+)\}$|^\$(\w+)$/, (_, a?: string, b?: string) => globalArgs.get((a ?? b)!) ?? `<unset ${a ?? b}>`);
      stages.push({ name: m[2] ?? String(stages.length), from: image, instructions: [] });
    } else if (!stages.length) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value = ''] = ins.args.split('=');
      globalArgs.set(name, value);
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { args: globalArgs, stages };
}

/** Exec-form (JSON array) arguments of CMD / ENTRYPOINT. */
const execForm = (ins: Instruction | undefined): string[] => {
  if (!ins) return [];
  const parsed: unknown = JSON.parse(ins.args);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`line ${ins.line}: ${ins.keyword} must be an exec-form array`);
  return parsed;
};

/** `COPY [--from=x] [--chmod=…] src… dest` → { from, sources, dest }. */
function copyOf(ins: Instruction): { from?: string; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from: flags.find((f) => f.startsWith('--from='))?.slice('--from='.length), sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const stageNamed = (name: string) => {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`the Dockerfile has no stage named ${name}`);
  return stage;
};
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const build = stageNamed('build');
const runtime = stageNamed('runtime');
const runtimeCopies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => ({ keyword: i.keyword, ...copyOf(i) }));
const entrypointScript = read('docker-entrypoint.sh');

/** The commands the entrypoint script knows, with the file each runs. */
const entrypointCommands = new Map([...entrypointScript.matchAll(/^\s*([\w-]+)\) exec node (\S+)/gm)].map((m) => [m[1], m[2]]));

/** Every bare package a module graph imports at load time (static imports; `await import()` is lazy and left out), following relative imports. */
function packagesLoadedBy(entries: string[]): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const resolve = (from: string, spec: string) => {
    const base = path.resolve(path.dirname(from), spec);
    for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    throw new Error(`${path.relative(ROOT, from)}: cannot resolve ${spec}`);
  };
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.endsWith('.ts')) return;
    const source = fs.readFileSync(file, 'utf8');
    const specs = [
      ...[...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?'([^']+)'/gm)].map((m) => m[1]),
      ...[...source.matchAll(/\brequire(?:\.resolve)?\('([^']+)'\)/g)].map((m) => m[1]),
    ];
    for (const spec of specs) {
      if (spec.startsWith('.')) visit(resolve(file, spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!packages.has(name)) packages.set(name, path.relative(ROOT, file));
      }
    }
  };
  entries.forEach((entry) => visit(path.join(ROOT, entry)));
  return packages;
}

describe('Dockerfile', () => {
  test('two stages, build then runtime, both from the same slim Node 20 image (Debian: the Temporal SDK core needs glibc)', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const stage of dockerfile.stages) expect(stage.from).toMatch(/^node:20(\.\d+){0,2}-(bookworm|bullseye|trixie)-slim$/);
    expect(build.from).toBe(runtime.from);
  });

  test('the build stage installs every dependency from the lockfile and compiles', () => {
    expect(runs(build).some((r) => /^npm ci\b/.test(r) && !r.includes('--omit'))).toBe(true);
    expect(runs(build).some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    // The lockfile goes in before the sources, so a source change does not redo the install.
    const copies = build.instructions.filter((i) => i.keyword === 'COPY');
    expect(copies[0].args).toBe('package.json package-lock.json ./');
  });

  test('the runtime stage installs production dependencies only, with no install script, and never copies node_modules', () => {
    const installs = runs(runtime).filter((r) => /\bnpm (ci|install|i)\b/.test(r));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/^npm ci --omit=dev --ignore-scripts\b/);
    for (const copy of runtimeCopies) for (const src of copy.sources) expect(src).not.toMatch(/node_modules/);
    expect(runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args)).toContain('NODE_ENV=production');
  });

  test('what the apps load at start is in production dependencies (the runtime image has no dev dependency)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const roots = [...entrypointCommands.values()].map((js) => js.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
    expect(roots).toEqual(['apps/api/main.ts', 'apps/worker/main.ts', 'apps/sandbox-crm/main.ts', 'scripts/rotate-keys.ts']);
    const loaded = packagesLoadedBy(roots);
    expect(loaded.size).toBeGreaterThan(10); // the walk found the graph (Nest, Temporal, TypeORM, pg, …)
    const notProduction = [...loaded].filter(([name]) => !(name in pkg.dependencies)).map(([name, by]) => `${name} (imported by ${by})`);
    expect(notProduction).toEqual([]);
  });

  test('the runtime stage holds the compiled code and the files read at run time, not the sources', () => {
    const fromBuild = runtimeCopies.filter((c) => c.from === 'build');
    const local = runtimeCopies.filter((c) => c.from === undefined);
    expect(runtimeCopies.every((c) => c.keyword === 'COPY')).toBe(true);
    expect(local.flatMap((c) => c.sources).sort()).toEqual(['docker-entrypoint.sh', 'package-lock.json', 'package.json']);
    const copied = fromBuild.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, '')));
    expect(copied).toContain('dist');
    for (const src of copied.filter((s) => s !== 'dist')) {
      // Browser files and templates only: no TypeScript source goes into the image.
      const dir = src.includes('*') ? path.dirname(src) : src;
      const files = fs.readdirSync(path.join(ROOT, dir), { recursive: true }).map(String);
      const matched = src.includes('*') ? files.filter((f) => f.endsWith(path.extname(src))) : files;
      expect({ src, typescript: matched.filter((f) => f.endsWith('.ts')) }).toEqual({ src, typescript: [] });
      expect(matched.length).toBeGreaterThan(0);
    }
    // Every non-TypeScript folder the code reads through fromProjectRoot() is copied.
    const readAtRunTime = [...new Set(
      ['apps', 'libs'].flatMap((top) =>
        (fs.readdirSync(path.join(ROOT, top), { recursive: true }) as string[])
          .filter((f) => f.endsWith('.ts'))
          .flatMap((f) => [...fs.readFileSync(path.join(ROOT, top, f), 'utf8').matchAll(/fromProjectRoot\('([^']+)'\)/g)].map((m) => m[1])),
      ),
    )];
    expect(readAtRunTime.length).toBeGreaterThanOrEqual(5);
    for (const dir of readAtRunTime) expect({ dir, copied: copied.some((c) => c === dir || path.dirname(c) === dir) }).toEqual({ dir, copied: true });
    // The workflow bundle the worker loads is built into dist/ (and the dev-only bench is left out of it).
    expect(runs(build).join('\n')).toMatch(/rm -rf dist\/test\b/);
  });

  test('runs as an unprivileged user, set before the entrypoint', () => {
    const users = runtime.instructions.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1];
    expect(user.args).not.toMatch(/^(root|0)(:|$)/);
    const entry = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!;
    expect(user.line).toBeLessThan(entry.line);
    // Nothing after USER switches back or installs anything.
    expect(runtime.instructions.filter((i) => i.line > user.line).map((i) => i.keyword)).toEqual(expect.not.arrayContaining(['RUN', 'USER']));
  });

  test('one image, one entrypoint: a command per process, each running that process from dist/', () => {
    expect(execForm(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT'))).toEqual(['/usr/local/bin/reauth-engine']);
    expect(runtimeCopies.find((c) => c.sources.includes('docker-entrypoint.sh'))?.dest).toBe('/usr/local/bin/reauth-engine');
    expect(execForm(runtime.instructions.find((i) => i.keyword === 'CMD'))).toEqual(['api']);
    expect([...entrypointCommands.keys()]).toEqual(['api', 'worker', 'sandbox-crm', 'keys-rotate']);
    // The same files as the npm scripts that start each process.
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start:api']).toBe(`node ${entrypointCommands.get('api')}`);
    expect(scripts['start:worker']).toBe(`node ${entrypointCommands.get('worker')}`);
    expect(scripts['start:sandbox-crm']).toBe(`node ${entrypointCommands.get('sandbox-crm')}`);
    expect(scripts['keys:rotate']).toBe(`node ${entrypointCommands.get('keys-rotate')}`);
    expect(entrypointScript).toMatch(/unknown command/);
    expect(fs.statSync(path.join(ROOT, 'docker-entrypoint.sh')).mode & 0o111).not.toBe(0);
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  test('keeps local state, secrets, build output and dependencies out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.git', '.data', '.temporal', '.env', 'bench-results', 'test-results']) expect(ignored).toContain(entry);
  });

  test('keeps what the build needs', () => {
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'apps', 'libs', 'activities', 'workflows', 'scripts', 'test', 'docker-entrypoint.sh']) {
      expect(ignored.filter((pattern) => pattern === needed || pattern === `${needed}/` || pattern === `/${needed}`)).toEqual([]);
    }
  });
});

// ---- docker-compose.yml --------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
  user?: string;
}
const composeText = read('docker-compose.yml');
const compose = load(composeText, { schema: CORE_SCHEMA.withTags(mergeTag) }) as { services: Record<string, ComposeService> };
const services = compose.services;
const ENGINE = ['api', 'worker', 'sandbox-crm'];

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose's `${VAR…}` interpolations (`$$` is a literal dollar). */
const interpolations = (text: string) => [...text.replace(/\$\$/g, '').matchAll(/\$\{(\w+)([^}]*)\}/g)].map((m) => ({ name: m[1], modifier: m[2] }));

describe('docker-compose.yml', () => {
  test('services: Postgres and Temporal from official images, API, worker and sandbox CRM from the engine image', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'sandbox-crm', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker']);
    expect(services.postgres.image).toMatch(/^postgres:\d+/);
    for (const name of ['temporal', 'temporal-search-attributes', 'temporal-ui']) expect(services[name].image).toMatch(/^temporalio\/(auto-setup|admin-tools|ui):\d/);
  });

  test('the engine services build the Dockerfile\'s runtime stage and mount nothing of the host', () => {
    const images = new Set<string | undefined>();
    for (const name of ENGINE) {
      const s = services[name];
      expect({ name, build: s.build }).toEqual({ name, build: { context: '.', dockerfile: 'Dockerfile', target: 'runtime' } });
      expect({ name, volumes: s.volumes }).toEqual({ name, volumes: undefined });
      expect(s.user === undefined || !/^(root|0)(:|$)/.test(s.user)).toBe(true);
      images.add(s.image);
    }
    expect(images.size).toBe(1); // one image for the three
    expect(composeText).not.toMatch(/['"]?\.:\/app/);
  });

  test('each engine service runs its own command of the image entrypoint', () => {
    for (const name of ENGINE) {
      const command = services[name].command;
      expect({ name, command }).toEqual({ name, command: [name] });
      expect(entrypointCommands.has(name)).toBe(true);
    }
  });

  test('ports: the API published, the sandbox CRM and the Temporal UI on this host only, Postgres and Temporal not at all', () => {
    const env = (name: string) => environmentOf(services[name]);
    expect(services.api.ports).toEqual([`${env('api').PORT}:${env('api').PORT}`]);
    expect(services['sandbox-crm'].ports).toEqual([`127.0.0.1:${env('sandbox-crm').SANDBOX_CRM_PORT}:${env('sandbox-crm').SANDBOX_CRM_PORT}`]);
    expect(services['temporal-ui'].ports).toEqual(['127.0.0.1:8233:8080']);
    for (const name of ['postgres', 'temporal', 'temporal-search-attributes', 'worker']) expect({ name, ports: services[name].ports }).toEqual({ name, ports: undefined });
    // The image exposes the ports the engine services listen on.
    const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual(expect.arrayContaining([env('api').PORT, env('sandbox-crm').SANDBOX_CRM_PORT]));
    // Processes inside the containers listen on all their interfaces, or no port mapping would reach them.
    expect(env('api').HOST).toBe('0.0.0.0');
    expect(env('sandbox-crm').SANDBOX_CRM_HOST).toBe('0.0.0.0');
  });

  test("every variable the engine services set is a setting of the catalogue and of the README's table", () => {
    const catalogue = new Set(ALL_SETTINGS.map((s) => s.name));
    const readme = new Set(readmeSettingNames(read('README.md')));
    const used = new Set(ENGINE.flatMap((name) => Object.keys(environmentOf(services[name]))));
    expect(used.size).toBeGreaterThanOrEqual(8);
    for (const name of used) expect({ name, inCatalogue: catalogue.has(name), inReadme: readme.has(name) }).toEqual({ name, inCatalogue: true, inReadme: true });
    // Variables taken from the host's environment are settings too, and the secret ones have no default.
    const fromHost = interpolations(composeText);
    expect(fromHost.map((v) => v.name).sort()).toEqual(['BOOTSTRAP_API_KEYS', 'CREDENTIALS_KEYS', 'PAYLOAD_CODEC_KEYS']);
    for (const v of fromHost) {
      expect(catalogue.has(v.name)).toBe(true);
      expect(v.modifier).toMatch(/^:\?set /);
    }
  });

  test('the values are accepted by the settings\' own parsers (as the processes check them at start)', () => {
    const asProvided = (env: Record<string, string>) => {
      const sample: Record<string, string> = {
        CREDENTIALS_KEYS: KeyRing.generateSpec('cred1'),
        PAYLOAD_CODEC_KEYS: KeyRing.generateSpec('codec1'),
        BOOTSTRAP_API_KEYS: 'acme:0123456789abcdef0123',
      };
      return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{(\w+)[^}]*\}/g, (_, name: string) => sample[name])]));
    };
    for (const name of ['api', 'worker']) {
      const app = parseSections({ app: APP_SECTION }, asProvided(environmentOf(services[name]))).app;
      expect(app.databaseUrl).toMatch(/@postgres:5432\//);
      expect(app.temporalAddress).toBe('temporal:7233');
      expect(app.sandboxCrmUrl).toBe(`http://sandbox-crm:${environmentOf(services['sandbox-crm']).SANDBOX_CRM_PORT}`);
    }
    const crm = parseSections({ crm: SANDBOX_CRM_SECTION }, environmentOf(services['sandbox-crm'])).crm;
    expect(crm).toMatchObject({ host: '0.0.0.0', port: 4010 });
    // A wrong value would be refused the same way: the check is not vacuous.
    expect(() => parseSections({ app: APP_SECTION }, { ...asProvided(environmentOf(services.api)), DATABASE_URL: 'mysql://db/reauth' })).toThrow(/DATABASE_URL/);
  });

  test('the engine containers are locked down: read-only root filesystem, no capabilities, no privilege escalation', () => {
    for (const name of ENGINE) {
      const s = services[name] as ComposeService & { read_only?: boolean; cap_drop?: string[]; security_opt?: string[] };
      expect({ name, read_only: s.read_only, cap_drop: s.cap_drop, security_opt: s.security_opt }).toEqual({
        name,
        read_only: true,
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges:true'],
      });
    }
  });
});
