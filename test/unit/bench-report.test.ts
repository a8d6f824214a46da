/**
 * `npm run bench`'s arguments, summaries, progress lines and latency chart (scripts/bench-report.ts).
 */
import { latencyChartOf, logTicks, parseBenchArgs, percentile, Progress, ratios, renderLatencySvg, summarize } from '../../scripts/bench-report';

describe('npm run bench arguments', () => {
  test('the topology is dev unless --topology says cluster', () => {
    expect(parseBenchArgs([])).toEqual({ topology: 'dev' });
    expect(parseBenchArgs(['--topology=cluster'])).toEqual({ topology: 'cluster' });
    expect(parseBenchArgs(['--topology', 'dev'])).toEqual({ topology: 'dev' });
  });

  test('an unknown topology or argument is refused, saying what is accepted', () => {
    expect(() => parseBenchArgs(['--topology=k8s'])).toThrow('--topology must be one of dev, cluster, not "k8s"');
    expect(() => parseBenchArgs(['--topology'])).toThrow('--topology must be one of dev, cluster, not ""');
    expect(() => parseBenchArgs(['--fast'])).toThrow('unknown argument "--fast"; accepted: --topology=dev|cluster');
  });
});

describe('bench summaries', () => {
  const samples = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100, shuffled below
  const shuffled = [...samples].sort((a, b) => ((a * 37) % 101) - ((b * 37) % 101));

  test('nearest-rank percentiles over every sample, whatever their order', () => {
    expect(percentile(shuffled, 50)).toBe(50);
    expect(percentile(shuffled, 90)).toBe(90);
    expect(percentile(shuffled, 99)).toBe(99);
    expect(percentile(shuffled, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  test('summary: n, min, quartiles, p50/p90/p99, max, mean', () => {
    expect(summarize(shuffled)).toEqual({ n: 100, min: 1, p25: 25, p50: 50, p75: 75, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(() => summarize([])).toThrow('no samples');
  });

  test('ratios are engine ÷ direct', () => {
    const engine = summarize([400, 500, 600]);
    const direct = summarize([4, 5, 6]);
    expect(ratios(engine, direct)).toEqual({ p50: 100, p90: 100, p99: 100, mean: 100 });
  });
});

describe('bench progress', () => {
  test('prints a line when a step starts, at each tenth of its work and when it ends', () => {
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l), 60_000);
    p.step('c=1 engine', 20);
    for (let i = 0; i < 20; i++) p.tick();
    p.end('p50 480 ms');
    expect(lines[0]).toMatch(/^\[bench \d+s\] c=1 engine: 0\/20 \(0 s\)$/);
    // 10 %, 20 %, … 90 %: nine intermediate lines, then the closing line.
    expect(lines.slice(1, -1).map((l) => l.replace(/^\[bench \d+s\] /, '').replace(/ \(\d+ s\)$/, ''))).toEqual(
      [2, 4, 6, 8, 10, 12, 14, 16, 18].map((n) => `c=1 engine: ${n}/20`),
    );
    expect(lines[lines.length - 1]).toMatch(/c=1 engine: done in \d+\.\d s — p50 480 ms$/);
  });

  test('keeps printing while a step waits, so a slow run never looks stuck', async () => {
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l), 20);
    p.step('refresh fleet: waiting', 40, () => 'refreshes so far');
    await new Promise((r) => setTimeout(r, 110));
    p.end();
    const waiting = lines.filter((l) => l.includes('refresh fleet: waiting: 0/40'));
    expect(waiting.length).toBeGreaterThanOrEqual(3);
    expect(waiting[0]).toContain('refreshes so far');
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(lines.length).toBe(count); // ended: no more lines
  });
});

describe('bench latency chart (SVG)', () => {
  const engine = [480, 490, 500, 510, 800];
  const direct = [4.8, 5, 5.3, 6, 15];
  const svg = renderLatencySvg(
    [
      { label: 'API token, c=1: engine', kind: 'engine', samples: engine },
      { label: 'API token, c=1: direct', kind: 'direct', samples: direct },
    ],
    'Reauthorization latency <dev>',
    'commit abc & co',
  );

  test('is a standalone SVG document with one group per series and one dot per sample', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).not.toMatch(/<script|href=/);
    expect(svg.match(/<g class="series"/g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(engine.length + direct.length);
    // Text is escaped.
    expect(svg).toContain('Reauthorization latency &lt;dev&gt;');
    expect(svg).toContain('commit abc &amp; co');
  });

  test('places each p50 on a shared logarithmic axis: the engine far right of the direct baseline', () => {
    const p50x = [...svg.matchAll(/<line class="p50" x1="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(p50x).toHaveLength(2);
    const [enginePx, directPx] = p50x;
    expect(enginePx).toBeGreaterThan(directPx);
    // log10(500 / 5.3) ≈ 1.97 decades between the two medians; the 560 px axis spans 4.8 / 1.2 .. 800 × 1.2.
    const pxPerDecade = 560 / Math.log10((800 * 1.2) / (4.8 / 1.2));
    expect(enginePx - directPx).toBeCloseTo(Math.log10(500 / 5.3) * pxPerDecade, -1);
  });

  test('log ticks are 1-2-5 steps covering the range', () => {
    expect(logTicks(4, 960)).toEqual([5, 10, 20, 50, 100, 200, 500]);
  });
});

describe('the chart of a bench run, drawn from its JSON', () => {
  test('has the engine and direct series of each figure, and says which commit, machine and load it measured', () => {
    const svg = latencyChartOf({
      topology: 'cluster',
      commit: { sha: '0123456789abcdef', subject: 's', dirty: true },
      machine: { cpus: 2, cpuModel: 'AMD EPYC', node: 'v20.20.2', loadAverage1mAtStart: 3.5 },
      at: '2026-12-01T22:59:29.980Z',
      apiTokenReauth_c1: { concurrency: 1, samplesMs: { engine: [500, 510], direct: [5, 6] } },
      apiTokenReauth_c20: { concurrency: 20, samplesMs: { engine: [900], direct: [9] } },
      oauthCallbackToActive: { samplesMs: [600] },
    });
    expect([...svg.matchAll(/data-label="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'API token, c=1: engine',
      'API token, c=1: direct',
      'API token, c=20: engine',
      'API token, c=20: direct',
      'OAuth callback → active: engine',
    ]);
    expect(svg).toContain('Reauthorization latency, cluster topology');
    expect(svg).toContain('commit 0123456789 (modified) · 2 × AMD EPYC · load 3.5 at start · Node v20.20.2 · 2026-12-01 22:59 UTC');
  });
});
