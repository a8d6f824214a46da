/**
 * deploy/kubernetes/, checked without a cluster: what kustomize applies, the engine's image and its
 * commands, probes on the API's real routes, hardened pods, grace periods that cover the
 * processes' own shutdown, and every variable a setting of the catalogue and the README's table,
 * accepted by that setting's own parser; no secret in the files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAll } from 'js-yaml';
import { APP_SECTION } from '../../libs/config/config';
import { parseSections } from '../../libs/config/schema';
import { ALL_SETTINGS } from '../../libs/config/settings';
import { readmeSettingNames } from '../../libs/config/settings-table';

const ROOT = path.join(__dirname, '..', '..');
const DIR = path.join(ROOT, 'deploy', 'kubernetes');
const read = (file: string) => fs.readFileSync(path.join(DIR, file), 'utf8');

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string }; periodSeconds: number; failureThreshold: number };
  resources?: { requests?: { memory?: string }; limits?: { memory?: string } };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: { spec: { terminationGracePeriodSeconds?: number; automountServiceAccountToken?: boolean; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number }; containers: Container[] } };
    ports?: Array<{ port: number; targetPort: string }>;
  };
}

const kustomization = loadAll(read('kustomization.yaml'))[0] as { resources: string[]; images: Array<{ name: string }>; namespace: string };
const resources = kustomization.resources.flatMap((file) => loadAll(read(file)) as Resource[]);
const byKind = (kind: string, name: string) => resources.find((r) => r.kind === kind && r.metadata.name === name)!;
const api = byKind('Deployment', 'reauth-engine-api');
const worker = byKind('Deployment', 'reauth-engine-worker');
const settings = byKind('ConfigMap', 'reauth-engine-settings');
const containerOf = (d: Resource) => d.spec!.template!.spec.containers[0];
/** The plain variables of a Deployment's container (the ConfigMap's and its own), not those taken from the Secret. */
const envOf = (d: Resource): Record<string, string> => ({
  ...settings.data,
  ...Object.fromEntries((containerOf(d).env ?? []).filter((e) => !e.valueFrom).map((e) => [e.name, e.value ?? ''])),
});
const secretKeysOf = (d: Resource) => (containerOf(d).env ?? []).filter((e) => e.valueFrom?.secretKeyRef);

describe('deploy/kubernetes', () => {
  test('kustomize applies a namespace, the settings, the API (Deployment and Service) and the worker', () => {
    expect(fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()).toEqual([...kustomization.resources, 'kustomization.yaml'].sort());
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`).sort()).toEqual(
      ['ConfigMap/reauth-engine-settings', 'Deployment/reauth-engine-api', 'Deployment/reauth-engine-worker', 'Namespace/reauth-engine', 'Service/reauth-engine-api'].sort(),
    );
    expect(kustomization.namespace).toBe('reauth-engine');
  });

  test("both run the project's image with its entrypoint's commands, two replicas each", () => {
    expect(kustomization.images.map((i) => i.name)).toEqual(['reauth-engine']);
    for (const [d, command] of [
      [api, 'api'],
      [worker, 'worker'],
    ] as const) {
      expect(containerOf(d).image).toBe('reauth-engine');
      expect(containerOf(d).args).toEqual([command]);
      expect(d.spec!.replicas).toBe(2);
    }
    const entrypoint = fs.readFileSync(path.join(ROOT, 'docker-entrypoint.sh'), 'utf8');
    for (const command of ['api', 'worker']) expect(entrypoint).toMatch(new RegExp(`^\\s*${command}\\)`, 'm'));
  });

  test("the API's probes are its readiness and liveness routes, on the port it listens on; the Service targets it", () => {
    const c = containerOf(api);
    expect(c.readinessProbe!.httpGet.path).toBe('/ready');
    expect(c.livenessProbe!.httpGet.path).toBe('/health');
    const controller = fs.readFileSync(path.join(ROOT, 'apps', 'api', 'health', 'health.controller.ts'), 'utf8');
    expect(controller).toContain("@Get('ready')");
    expect(controller).toContain("@Get('health')");
    const http = c.ports!.find((p) => p.name === 'http')!;
    expect(String(http.containerPort)).toBe(envOf(api).PORT);
    expect(envOf(api).HOST).toBe('0.0.0.0');
    expect(byKind('Service', 'reauth-engine-api').spec!.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http' }]);
    expect(String(containerOf(worker).ports!.find((p) => p.name === 'metrics')!.containerPort)).toBe(envOf(worker).WORKER_METRICS_PORT);
    expect(envOf(worker).WORKER_METRICS_HOST).toBe('0.0.0.0');
  });

  test("the worker's probes are its /health on the metrics port; both processes have a startup probe of a minute or more", () => {
    const c = containerOf(worker);
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/health', port: 'metrics' });
    expect(c.startupProbe!.httpGet).toEqual({ path: '/health', port: 'metrics' });
    expect(fs.readFileSync(path.join(ROOT, 'apps', 'worker', 'metrics-server.ts'), 'utf8')).toContain("path === '/health'");
    expect(containerOf(api).startupProbe!.httpGet).toEqual({ path: '/health', port: 'http' });
    for (const d of [api, worker]) {
      const probe = containerOf(d).startupProbe!;
      expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThanOrEqual(60);
    }
  });

  test("the worker's memory limit covers the peak RSS the fleet bench measured", () => {
    const measured = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'performance', 'fleet-dev-2000.json'), 'utf8')) as { wave: { peakRssMiB: { worker: number } } };
    const limit = containerOf(worker).resources!.limits!.memory!;
    const mib = Number(limit.replace(/Gi$/, '')) * 1024 || Number(limit.replace(/Mi$/, ''));
    expect(mib).toBeGreaterThan(measured.wave.peakRssMiB.worker * 1.2);
  });

  test('pods are hardened: non-root, read-only root filesystem, no capabilities, no privilege escalation, no service account token', () => {
    for (const d of [api, worker]) {
      const pod = d.spec!.template!.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(containerOf(d).securityContext).toEqual({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  });

  test("grace periods cover each process's own shutdown", () => {
    const a = parseSections({ app: APP_SECTION }, envOf(api)).app;
    expect(api.spec!.template!.spec.terminationGracePeriodSeconds).toBeGreaterThan(a.apiShutdown.delaySeconds + a.apiShutdown.timeoutSeconds);
    const w = parseSections({ app: APP_SECTION }, envOf(worker)).app;
    expect(worker.spec!.template!.spec.terminationGracePeriodSeconds).toBeGreaterThan(w.workerShutdownGraceSeconds + 5);
  });

  test("every variable is a setting of the catalogue and the README's table, accepted by its parser; secrets come from the Secret only", () => {
    const catalogue = new Set(ALL_SETTINGS.map((s) => s.name));
    const readme = new Set(readmeSettingNames(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')));
    const secret = new Set(ALL_SETTINGS.filter((s) => s.secret).map((s) => s.name));
    for (const d of [api, worker]) {
      const env = envOf(d);
      for (const name of Object.keys(env)) {
        expect({ name, inCatalogue: catalogue.has(name), inReadme: readme.has(name), secret: secret.has(name) }).toEqual({ name, inCatalogue: true, inReadme: true, secret: false });
      }
      // With what the Secret adds, the settings parse as the processes parse them at start.
      const app = parseSections({ app: APP_SECTION }, { ...env, DATABASE_URL: 'postgres://u:p@db:5432/reauth' }).app;
      expect(app.temporalAddress).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
      expect(app.crmMode).toBe('production');
    }
    expect(resources.some((r) => r.kind === 'Secret')).toBe(false);
    // The API takes the whole Secret; the worker only what it uses (no API bootstrap or operator keys).
    expect(containerOf(api).envFrom).toEqual([{ configMapRef: { name: 'reauth-engine-settings' } }, { secretRef: { name: 'reauth-engine-secrets' } }]);
    expect(containerOf(worker).envFrom).toEqual([{ configMapRef: { name: 'reauth-engine-settings' } }]);
    const fromSecret = secretKeysOf(worker).map((e) => {
      const ref = e.valueFrom!.secretKeyRef!;
      return { variable: e.name, secret: ref.name, key: ref.key, optional: ref.optional ?? false };
    });
    const required = (variable: string) => ({ variable, secret: 'reauth-engine-secrets', key: variable, optional: false });
    expect(fromSecret).toEqual([required('DATABASE_URL'), required('CREDENTIALS_KEYS'), required('PAYLOAD_CODEC_KEYS'), { ...required('TEMPORAL_API_KEY'), optional: true }]);
    expect(fromSecret.every((e) => secret.has(e.variable))).toBe(true);
  });
});
