/**
 * `npm run temporal:cli`: make sure the Temporal CLI dev server binary is available (found, or built
 * once with `go install` and cached under ~/.cache). Used by `.ci/run`, `npm test` and `npm start`.
 */
import { provisionTemporalCli } from '../libs/temporal/dev-server';

if (process.env.TEMPORAL_ADDRESS) {
  console.log(`TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}: using that server, no CLI needed`);
} else {
  const cli = provisionTemporalCli();
  if (cli) console.log(`temporal CLI: ${cli.path} (${cli.source})`);
  else console.log('temporal CLI: not found and Go is missing; the SDK download will be used as a last resort');
}
