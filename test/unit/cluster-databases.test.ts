/**
 * The cluster topology's Temporal databases are named after the engine's database, so two
 * deployments on one Postgres server keep apart, and a name that could not be a plain identifier is
 * refused before anything starts.
 */
import { clusterPostgresFor } from '../../libs/temporal/cluster';

test('the embedded defaults keep the names the cluster has always used', () => {
  expect(clusterPostgresFor('postgres://postgres:postgres@127.0.0.1:5433/reauth')).toEqual({
    host: '127.0.0.1',
    port: 5433,
    user: 'postgres',
    password: 'postgres',
    database: 'reauth_temporal',
    visibilityDatabase: 'reauth_temporal_visibility',
  });
});

test('two engine databases on one server get two pairs of Temporal databases', () => {
  const a = clusterPostgresFor('postgres://app@db.internal/tenant_a');
  const b = clusterPostgresFor('postgres://app@db.internal/tenant_b');
  expect([a.database, a.visibilityDatabase]).toEqual(['tenant_a_temporal', 'tenant_a_temporal_visibility']);
  expect([b.database, b.visibilityDatabase]).toEqual(['tenant_b_temporal', 'tenant_b_temporal_visibility']);
  expect(a.port).toBe(5432);
  expect(a.password).toBeUndefined();
});

test('without a database in the URL, Postgres’s own default (the user’s name) is the base', () => {
  expect(clusterPostgresFor('postgres://reauth:s3cret@127.0.0.1:5432').database).toBe('reauth_temporal');
  expect(clusterPostgresFor('postgres://reauth:s%40cret@127.0.0.1:5432/').password).toBe('s@cret');
});

test.each([
  ['a quote', 'postgres://u@h/x"; DROP DATABASE postgres; --'],
  ['a space', 'postgres://u@h/my%20db'],
  ['a dash (would need quoting in the schema tool)', 'postgres://u@h/my-db'],
  ['a name past the identifier limit with the suffix', `postgres://u@h/${'d'.repeat(44)}`],
])('refuses a database name with %s, saying what it needs and quoting no password', (_what, url) => {
  const withPassword = url.replace('postgres://u@', 'postgres://u:topsecret@');
  expect(() => clusterPostgresFor(withPassword)).toThrow(/letters, digits and underscores, at most 43 characters/);
  try {
    clusterPostgresFor(withPassword);
  } catch (error) {
    expect((error as Error).message).not.toContain('topsecret');
  }
});

test('accepts the longest name that fits', () => {
  expect(clusterPostgresFor(`postgres://u@h/${'d'.repeat(43)}`).visibilityDatabase).toHaveLength(63);
});

test('refuses what is not a URL without echoing it', () => {
  expect(() => clusterPostgresFor('host=db password=topsecret')).toThrow(/^DATABASE_URL is not a URL/);
  expect(() => clusterPostgresFor('host=db password=topsecret')).not.toThrow(/topsecret/);
});
