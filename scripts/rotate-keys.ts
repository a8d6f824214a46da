/**
 * `npm run keys:rotate`: re-encrypts every secret stored in Postgres under the FIRST key of
 * CREDENTIALS_KEYS, so that the keys after it can then be removed from the ring.
 *
 *   CREDENTIALS_KEYS=new:…,old:… npm run keys:rotate [-- --batch-size=100] [-- --check]
 *
 * Safe while the system runs (short batches, locked rows skipped and retried, row-version checks; see
 * libs/db/rotate-sealed-columns.ts), idempotent and resumable. `--check` changes nothing and only
 * reports which keys the stored rows are under. Exit code 0 when every sealed row is under the first
 * key, 1 otherwise (a key missing from the ring, or rows still being written under an old key).
 *
 * Settings come from the same loader as the API and worker: DATABASE_URL, or else the embedded
 * Postgres of `npm start` (joined if it runs, started for the run if not); CREDENTIALS_KEYS, or else
 * the dev keys `npm start` generated into DATA_DIR.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { DataSource } from 'typeorm';
import { APP_SECTION, loadSections } from '../libs/config/config';
import { KeyRing, readDevKeys } from '../libs/crypto/key-ring';
import { dataSourceOptions } from '../libs/db/data-source';
import { countByKeyId, describeKeyCounts, rotateSealedColumns } from '../libs/db/rotate-sealed-columns';
import { SEALED_COLUMNS } from '../libs/db/sealed-columns';
import { embeddedPostgresUrl, startEmbeddedPostgres, type EmbeddedPg } from '../libs/dev/embedded-postgres';

const DEFAULT_BATCH_SIZE = 100;

function say(line: string): void {
  process.stdout.write(`[keys:rotate] ${line}\n`);
}

/** A refusal with a message for the operator (no stack trace); thrown so that `finally` blocks still run. */
class RotationRefused extends Error {}

function fail(message: string): never {
  throw new RotationRefused(message);
}

function parseArgs(argv: string[]): { batchSize: number; check: boolean } {
  let batchSize = DEFAULT_BATCH_SIZE;
  let check = false;
  for (const arg of argv) {
    const size = /^--batch-size=(\d+)$/.exec(arg);
    if (size && Number(size[1]) >= 1 && Number(size[1]) <= 10_000) batchSize = Number(size[1]);
    else if (arg === '--check') check = true;
    else fail(`unknown argument "${arg}" (expected --batch-size=1..10000 or --check)`);
  }
  return { batchSize, check };
}

async function isReachable(url: string): Promise<boolean> {
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** DATABASE_URL, or the embedded Postgres of `npm start`: joined when it runs, else started for this run. */
async function database(cfg: { databaseUrl?: string; dataDir: string; embeddedPostgresPort: number }): Promise<{ url: string; embedded?: EmbeddedPg }> {
  if (cfg.databaseUrl) return { url: cfg.databaseUrl };
  const url = embeddedPostgresUrl(cfg.embeddedPostgresPort);
  if (await isReachable(url)) return { url };
  if (!fs.existsSync(path.join(cfg.dataDir, 'postgres', 'PG_VERSION'))) {
    fail(`DATABASE_URL is not set and there is no embedded Postgres in ${cfg.dataDir}/postgres: nothing to rotate`);
  }
  say(`starting the embedded Postgres (${cfg.dataDir}/postgres) for this run…`);
  const embedded = await startEmbeddedPostgres(cfg.dataDir, cfg.embeddedPostgresPort, say);
  return { url: embedded.url, embedded };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { app: cfg } = loadSections({ app: APP_SECTION });
  const spec = cfg.credentialsKeys ?? readDevKeys(cfg.dataDir)?.credentialsKeys;
  if (!spec) fail('CREDENTIALS_KEYS is not set: give the new key first, then every key still in use ("new:<base64>,old:<base64>")');
  const ring = new KeyRing(spec);

  const db = await database(cfg);
  const ds = new DataSource(dataSourceOptions(db.url, { extra: { max: 2 } }));
  let exitCode = 0;
  try {
    await ds.initialize();
    // The columns listed in SEALED_COLUMNS exist once every migration has run; API and worker run them at start.
    if (await ds.showMigrations()) fail('the database has pending migrations: start the API or worker of this version once, then rotate');
    say(`first key of the ring: ${ring.primaryKeyId}${args.check ? ' (check only, nothing is changed)' : `; batches of ${args.batchSize} rows`}`);

    if (args.check) {
      for (const column of SEALED_COLUMNS) {
        const counts = await countByKeyId(ds, column);
        const others = Object.entries(counts).filter(([kid]) => kid !== ring.primaryKeyId);
        say(`${column.name}: ${describeKeyCounts(counts)}`);
        if (others.length) exitCode = 1;
      }
      say(exitCode === 0 ? `every sealed row is under ${ring.primaryKeyId}` : `some rows are not under ${ring.primaryKeyId}: run without --check`);
      return;
    }

    const outcomes = await rotateSealedColumns(ds, ring, { batchSize: args.batchSize, maxPasses: 5, passPauseMs: 1000, log: say });
    const failed = outcomes.flatMap((o) => o.failed.map((f) => `${o.name} row ${f.id}: ${f.error}`));
    const leftOver = outcomes.flatMap((o) =>
      Object.entries(o.byKeyId)
        .filter(([kid]) => kid !== ring.primaryKeyId)
        .map(([kid, n]) => `${o.name}: ${n} under ${kid}`),
    );
    const total = outcomes.reduce((n, o) => n + o.reencrypted, 0);
    if (failed.length) {
      for (const f of failed) say(`could not open ${f}`);
      say('those rows were left as they are: put the key that sealed them in CREDENTIALS_KEYS and run again');
    }
    if (leftOver.length) {
      for (const l of leftOver) say(`still not under ${ring.primaryKeyId}: ${l}`);
      say(`keep the old keys in the ring. If rows keep appearing under an old key, the API or worker still seals with it: restart them with ${ring.primaryKeyId} first in CREDENTIALS_KEYS and run again.`);
      exitCode = 1;
    } else {
      say(`done: ${total} values re-encrypted; every sealed row is under ${ring.primaryKeyId}, the other keys can leave CREDENTIALS_KEYS`);
    }
  } finally {
    if (ds.isInitialized) await ds.destroy();
    if (db.embedded) await db.embedded.stop().catch(() => undefined);
  }
  process.exitCode = exitCode;
}

main().catch((err) => {
  if (err instanceof RotationRefused) process.stderr.write(`keys:rotate: ${err.message}\n`);
  else process.stderr.write(`keys:rotate failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
