/**
 * The embedded Postgres of `npm run start:cluster` holds every connection the topology may open at
 * once: the Temporal services' pools, the APIs' and workers' pools, and room for the tools.
 */
import { parseAppConfig } from '../../libs/config/config';
import { EMBEDDED_POSTGRES_MAX_CONNECTIONS } from '../../libs/dev/embedded-postgres';
import { CLUSTER_REPLICAS, CLUSTER_SERVICES, type ClusterPostgres, clusterServerConfig } from '../../libs/temporal/cluster';

/** Postgres keeps these for superusers (`superuser_reserved_connections`), and a psql or the schema tool may be connected. */
const HEADROOM = 10;

test('the cluster topology stays under the embedded Postgres max_connections', () => {
  const pg: ClusterPostgres = { host: '127.0.0.1', port: 5433, user: 'postgres', password: 'postgres', database: 't', visibilityDatabase: 'v' };
  const membership = Object.fromEntries(CLUSTER_SERVICES.map((s, i) => [s, 7000 + i])) as Record<(typeof CLUSTER_SERVICES)[number], number>;
  const config = clusterServerConfig(pg, { frontend: 1, frontendHttp: 2, history: 3, matching: 4, worker: 5, membership }, '/dev/null') as {
    persistence: { datastores: Record<string, { sql: { maxConns: number } }> };
  };
  const perService = Object.values(config.persistence.datastores).reduce((sum, store) => sum + store.sql.maxConns, 0);
  const temporal = CLUSTER_SERVICES.length * perService;
  const apps = 2 * CLUSTER_REPLICAS * parseAppConfig({}).databasePoolSize;
  expect(temporal).toBeGreaterThanOrEqual(100); // Postgres's default would not have been enough
  expect(temporal + apps + HEADROOM).toBeLessThanOrEqual(EMBEDDED_POSTGRES_MAX_CONNECTIONS);
});
