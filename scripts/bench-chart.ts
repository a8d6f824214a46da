/**
 * `node dist/scripts/bench-chart.js <bench-results/bench-<topology>.json> [out.svg]`: draws the latency
 * chart of a bench run again from its JSON (every sample is in it), e.g. into docs/ for the README.
 */
import * as fs from 'node:fs';
import { latencyChartOf, type BenchResults } from './bench-report';

const [input, output] = process.argv.slice(2);
if (!input) {
  console.error('usage: node dist/scripts/bench-chart.js <bench-results/bench-<topology>.json> [out.svg]');
  process.exit(2);
}
const svg = latencyChartOf(JSON.parse(fs.readFileSync(input, 'utf8')) as BenchResults);
if (output) fs.writeFileSync(output, svg);
else process.stdout.write(svg);
