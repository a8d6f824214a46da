/**
 * `npm run temporal:cli`: make sure the Temporal CLI dev server binary is available (found; or built
 * once with `go install` and cached under ~/.cache; or, without Go, downloaded by the Temporal SDK
 * into that cache). Used by `.ci/run`, `npm test` and `npm start`.
 */
import { DEV_TOOLS_SECTION, loadSections } from '../libs/config/config';
import { SETTINGS } from '../libs/config/settings';
import { provisionTemporalCli } from '../libs/temporal/dev-server';

// Only the settings this script acts on: a wrong API setting is the API's start to report.
const { temporalAddress, devTools } = loadSections({ temporalAddress: (read) => read(SETTINGS.TEMPORAL_ADDRESS), devTools: DEV_TOOLS_SECTION });

if (temporalAddress) {
  console.log(`TEMPORAL_ADDRESS=${temporalAddress}: using that server, no CLI needed`);
} else {
  provisionTemporalCli(process.cwd(), console.log, devTools).then(
    (cli) => console.log(`temporal CLI: ${cli.path} (${cli.source})`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
