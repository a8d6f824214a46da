/**
 * The parts of `npm run bench` that do not need a running system: its arguments, the summary of a
 * sample set, the progress lines and the SVG chart of the latency distributions. Kept apart from
 * scripts/bench.ts so they are unit-tested (test/unit/bench-report.test.ts).
 */
import { execFileSync } from 'node:child_process';

export const TOPOLOGIES = ['dev', 'cluster'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

export interface BenchArgs {
  /** `dev`: the single-process Temporal dev server; `cluster`: a Temporal server cluster on Postgres. */
  topology: Topology;
}

/** `--topology=dev|cluster` (or `--topology cluster`); anything else is refused with a message that says what is accepted. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { topology: 'dev' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let value: string | undefined;
    if (arg.startsWith('--topology=')) value = arg.slice('--topology='.length);
    else if (arg === '--topology') value = argv[++i];
    else throw new Error(`npm run bench: unknown argument ${JSON.stringify(arg)}; accepted: --topology=${TOPOLOGIES.join('|')}`);
    if (!TOPOLOGIES.includes(value as Topology)) {
      throw new Error(`npm run bench: --topology must be one of ${TOPOLOGIES.join(', ')}, not ${JSON.stringify(value ?? '')}`);
    }
    args.topology = value as Topology;
  }
  return args;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface Summary {
  n: number;
  min: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Summary of a set of latencies in milliseconds (every sample counts; none is dropped as an outlier). */
export function summarize(samples: readonly number[]): Summary {
  if (!samples.length) throw new Error('summarize: no samples');
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return {
    n: samples.length,
    min: round(Math.min(...samples)),
    p25: round(percentile(samples, 25)),
    p50: round(percentile(samples, 50)),
    p75: round(percentile(samples, 75)),
    p90: round(percentile(samples, 90)),
    p99: round(percentile(samples, 99)),
    max: round(Math.max(...samples)),
    mean: round(mean),
  };
}

/** engine ÷ direct for the figures that have both (how many times slower the engine is). */
export function ratios(engine: Summary, direct: Summary): { p50: number; p90: number; p99: number; mean: number } {
  return {
    p50: round(engine.p50 / direct.p50, 1),
    p90: round(engine.p90 / direct.p90, 1),
    p99: round(engine.p99 / direct.p99, 1),
    mean: round(engine.mean / direct.mean, 1),
  };
}

/**
 * Progress lines for a long-running step: `[bench 41s] c=20 engine: 37/100 (12 s)`, printed when a
 * tenth of the work is done and at least every `everyMs` while it waits, so a slow run never looks stuck.
 */
export class Progress {
  private readonly t0 = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private label = '';
  private total = 0;
  private done = 0;
  private stepStart = 0;
  private lastPrintedTenth = -1;
  private lastPrintAt = 0;
  private detail: (() => string) | undefined;

  constructor(
    private readonly print: (line: string) => void = (line) => console.log(line),
    private readonly everyMs = 5_000,
  ) {}

  /** Starts a step of `total` units (0: a step without a count, such as waiting for processes to start). */
  step(label: string, total = 0, detail?: () => string): void {
    this.end();
    Object.assign(this, { label, total, done: 0, stepStart: Date.now(), lastPrintedTenth: 0, detail });
    this.line();
    // The heartbeat only speaks when nothing else has for a while.
    this.timer = setInterval(() => Date.now() - this.lastPrintAt >= this.everyMs * 0.8 && this.line(), this.everyMs);
    this.timer.unref();
  }

  /** `n` more units done (or `set` the count outright). */
  tick(n = 1): void {
    this.update(this.done + n);
  }

  update(done: number): void {
    this.done = done;
    const tenth = this.total ? Math.floor((10 * done) / this.total) : 0;
    if (tenth > this.lastPrintedTenth && done < this.total) {
      this.lastPrintedTenth = tenth;
      this.line();
    }
  }

  /** Ends the current step with a closing line (`… done in 12 s`). */
  end(summary?: string): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    const took = ((Date.now() - this.stepStart) / 1000).toFixed(1);
    this.print(`${this.prefix()} ${this.label}: done in ${took} s${summary ? ` — ${summary}` : ''}`);
  }

  private prefix(): string {
    return `[bench ${Math.round((Date.now() - this.t0) / 1000)}s]`;
  }

  private line(): void {
    const count = this.total ? ` ${this.done}/${this.total}` : '';
    const waited = Math.round((Date.now() - this.stepStart) / 1000);
    const extra = this.detail?.();
    this.lastPrintAt = Date.now();
    this.print(`${this.prefix()} ${this.label}:${count} (${waited} s)${extra ? ` ${extra}` : ''}`);
  }
}

export interface ChartSeries {
  /** Row label, e.g. `API token, c=1 — engine`. */
  label: string;
  kind: 'engine' | 'direct';
  samples: readonly number[];
}

const COLORS = { engine: '#2f6fd6', direct: '#d9822b' } as const;

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A "nice" set of log-scale ticks (1, 2, 5 × 10^k) covering [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** k;
      if (t >= lo / 1.0001 && t <= hi * 1.0001) ticks.push(round(t, 6));
    }
  }
  return ticks;
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${round(ms / 1000, 2)} s` : ms >= 10 ? `${Math.round(ms)} ms` : `${round(ms, 1)} ms`);

/**
 * One horizontal box plot per series on a shared logarithmic millisecond axis (the engine and the
 * direct baseline are two orders of magnitude apart): whiskers min–max, box p25–p75, a bar at p50,
 * a tick at p99, and every sample as a dot. Plain SVG 1.1, no script, no external resource.
 */
export function renderLatencySvg(series: readonly ChartSeries[], title: string, subtitle: string): string {
  if (!series.length) throw new Error('renderLatencySvg: no series');
  const all = series.flatMap((s) => s.samples).filter((x) => x > 0);
  if (!all.length) throw new Error('renderLatencySvg: no positive sample');
  // The axis spans the samples with a little room on both sides.
  const [lo, hi] = [Math.min(...all) / 1.2, Math.max(...all) * 1.2];
  const ticks = logTicks(lo, hi);
  const [labelW, plotW, rowH, top, right] = [230, 560, 46, 80, 24];
  const width = labelW + plotW + right;
  const height = top + rowH * series.length + 44;
  const x = (ms: number) => round(labelW + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW, 1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="12" y="40" fill="#555555">${escapeXml(subtitle)}</text>`,
  ];
  const axisY = top + rowH * series.length;
  for (const t of ticks) {
    out.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${axisY}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${x(t)}" y="${axisY + 16}" text-anchor="middle" fill="#333333">${escapeXml(fmtMs(t))}</text>`);
  }
  out.push(
    `<text x="${labelW + plotW / 2}" y="${axisY + 34}" text-anchor="middle" fill="#333333">latency per operation, log scale (box p25–p75, thick bar p50, tick p99, whiskers min–max, a dot per sample)</text>`,
  );
  series.forEach((s, i) => {
    const sum = summarize(s.samples);
    const cy = top + rowH * i + rowH / 2;
    const color = COLORS[s.kind];
    out.push(`<g class="series" data-label="${escapeXml(s.label)}" data-p50="${sum.p50}">`);
    out.push(`<text x="${labelW - 10}" y="${cy - 3}" text-anchor="end">${escapeXml(s.label)}</text>`);
    out.push(`<text x="${labelW - 10}" y="${cy + 12}" text-anchor="end" fill="#666666" font-size="11">p50 ${escapeXml(fmtMs(sum.p50))} · p99 ${escapeXml(fmtMs(sum.p99))} · n=${sum.n}</text>`);
    out.push(`<line x1="${x(sum.min)}" y1="${cy}" x2="${x(sum.max)}" y2="${cy}" stroke="${color}"/>`);
    out.push(`<rect x="${x(sum.p25)}" y="${cy - 10}" width="${round(Math.max(1, x(sum.p75) - x(sum.p25)), 1)}" height="20" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`);
    out.push(`<line class="p50" x1="${x(sum.p50)}" y1="${cy - 12}" x2="${x(sum.p50)}" y2="${cy + 12}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<line class="p99" x1="${x(sum.p99)}" y1="${cy - 7}" x2="${x(sum.p99)}" y2="${cy + 7}" stroke="${color}" stroke-width="2"/>`);
    s.samples.forEach((v, k) => {
      // Deterministic vertical spread so overlapping samples stay visible.
      const dy = (((k * 7919) % 17) - 8) * 0.9;
      out.push(`<circle cx="${x(v)}" cy="${round(cy + dy, 1)}" r="1.6" fill="${color}" fill-opacity="0.55"/>`);
    });
    out.push('</g>');
  });
  out.push(
    `<g font-size="11"><rect x="${labelW}" y="${top - 22}" width="10" height="10" fill="${COLORS.engine}"/><text x="${labelW + 14}" y="${top - 13}">engine (Temporal)</text>`,
    `<rect x="${labelW + 130}" y="${top - 22}" width="10" height="10" fill="${COLORS.direct}"/><text x="${labelW + 144}" y="${top - 13}">direct baseline (no Temporal)</text></g>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

/** What scripts/bench.ts writes to bench-results/bench-<topology>.json (the parts the chart reads). */
export interface BenchResults {
  topology: Topology;
  commit: { sha: string; subject: string; dirty: boolean } | null;
  machine: { cpus: number; cpuModel: string; node: string; loadAverage1mAtStart?: number };
  at: string;
  apiTokenReauth_c1?: { concurrency: number; samplesMs: { engine: number[]; direct: number[] } };
  apiTokenReauth_c20?: { concurrency: number; samplesMs: { engine: number[]; direct: number[] } };
  oauthCallbackToActive?: { samplesMs: number[] };
}

/** The latency chart of one bench run, from its JSON: every figure with samples, engine and direct side by side. */
export function latencyChartOf(results: BenchResults): string {
  const series: ChartSeries[] = [];
  for (const figure of [results.apiTokenReauth_c1, results.apiTokenReauth_c20]) {
    if (!figure) continue;
    series.push(
      { label: `API token, c=${figure.concurrency}: engine`, kind: 'engine', samples: figure.samplesMs.engine },
      { label: `API token, c=${figure.concurrency}: direct`, kind: 'direct', samples: figure.samplesMs.direct },
    );
  }
  if (results.oauthCallbackToActive) series.push({ label: 'OAuth callback → active: engine', kind: 'engine', samples: results.oauthCallbackToActive.samplesMs });
  const { commit, machine } = results;
  const load = machine.loadAverage1mAtStart === undefined ? '' : ` · load ${machine.loadAverage1mAtStart} at start`;
  return renderLatencySvg(
    series,
    `Reauthorization latency, ${results.topology} topology: engine vs direct baseline`,
    `commit ${commit ? `${commit.sha.slice(0, 10)}${commit.dirty ? ' (modified)' : ''}` : 'unknown'} · ${machine.cpus} × ${machine.cpuModel}${load} · Node ${machine.node} · ${results.at.slice(0, 16).replace('T', ' ')} UTC`,
  );
}

/** The commit measured; `dirty` when tracked files differ from it (the figures are then not that commit's). */
export function commitMeasured(): { sha: string; subject: string; dirty: boolean } | null {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { sha: git('rev-parse', 'HEAD'), subject: git('log', '-1', '--format=%s'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  } catch {
    return null;
  }
}
