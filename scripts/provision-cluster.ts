/**
 * `npm run cluster:provision`: make sure the Temporal server, its schema tool and the Temporal UI
 * server of the cluster topology are built and cached (~/.cache/reauth-engine). `npm run
 * start:cluster`, `npm run test:cluster` and `npm run bench -- --topology=cluster` call it first.
 */
import { provisionClusterBinaries } from '../libs/temporal/cluster-binaries';

provisionClusterBinaries().then(
  (bins) => {
    for (const [name, file] of Object.entries(bins)) console.log(`${name}: ${file}`);
  },
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
