import type { DataSource } from 'typeorm';
import type { KeyRing } from '../crypto/key-ring';
import { SEALED_COLUMNS, type SealedColumn } from './sealed-columns';

/** Smallest uuid: where a keyset scan over `id` starts. */
const FIRST_ID = '00000000-0000-0000-0000-000000000000';

export interface RotationOptions {
  /** Rows re-encrypted per transaction (each transaction holds its rows' locks only that long). */
  batchSize: number;
  /**
   * Scans over a column while rows under other keys remain: rows locked by a running transaction
   * are skipped (SKIP LOCKED) and picked up by the next scan.
   */
  maxPasses: number;
  /** Pause between scans, for the holders of those locks to finish. */
  passPauseMs: number;
  log(line: string): void;
}

export interface ColumnOutcome {
  name: string;
  /** Re-encrypted by this run. */
  reencrypted: number;
  /** Rows that could not be opened (key not in the ring, or AAD/ciphertext mismatch): left as they are. */
  failed: Array<{ id: string; error: string }>;
  /** Rows with a value, by key id, after the run. */
  byKeyId: Record<string, number>;
}

/** Rows holding a sealed value in this column, by the id of the key that sealed them. */
export async function countByKeyId(ds: DataSource, column: SealedColumn): Promise<Record<string, number>> {
  const rows = (await ds.query(
    `SELECT "${column.keyIdColumn}" AS key_id, count(*)::int AS n FROM "${column.table}"
      WHERE "${column.ciphertextColumn}" IS NOT NULL GROUP BY 1 ORDER BY 1`,
  )) as Array<{ key_id: string; n: number }>;
  return Object.fromEntries(rows.map((r) => [r.key_id, r.n]));
}

/** `3 under k1, 120 under k2`, for progress lines. */
export function describeKeyCounts(byKeyId: Record<string, number>): string {
  const parts = Object.entries(byKeyId).map(([kid, n]) => `${n} under ${kid}`);
  return parts.length ? parts.join(', ') : 'no rows';
}

/**
 * One transaction: locks up to `batchSize` rows of the column still under another key (skipping rows
 * another transaction holds), re-seals each under the ring's first key with the AAD of its row, and
 * writes it back only if the row still holds the value that was read (a row-version check on top of
 * the lock). Returns the last id seen, or null when the scan is over.
 */
async function rotateBatch(
  ds: DataSource,
  ring: KeyRing,
  column: SealedColumn,
  afterId: string,
  batchSize: number,
  outcome: ColumnOutcome,
): Promise<string | null> {
  const { table, keyIdColumn: kid, ciphertextColumn: ct } = column;
  const extra = column.aadColumns.map((c) => `, "${c}"`).join('');
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    const rows = (await runner.query(
      `SELECT id::text AS id, "${kid}" AS key_id, "${ct}" AS ciphertext${extra} FROM "${table}"
        WHERE "${ct}" IS NOT NULL AND "${kid}" <> $1 AND id > $2
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [ring.primaryKeyId, afterId, batchSize],
    )) as Array<Record<string, string>>;
    for (const row of rows) {
      const aad = Buffer.from(column.aad(row));
      let resealed;
      try {
        resealed = ring.seal(ring.open({ keyId: row.key_id, data: row.ciphertext }, aad), aad);
      } catch (err) {
        outcome.failed.push({ id: row.id, error: (err as Error).message });
        continue;
      }
      const updated = await runner.query(
        `UPDATE "${table}" SET "${kid}" = $1, "${ct}" = $2 WHERE id = $3 AND "${kid}" = $4 AND "${ct}" = $5`,
        [resealed.keyId, resealed.data, row.id, row.key_id, row.ciphertext],
        true,
      );
      if (updated.affected === 1) outcome.reencrypted += 1;
    }
    await runner.commitTransaction();
    return rows.length ? rows[rows.length - 1].id : null;
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}

async function rotateColumn(ds: DataSource, ring: KeyRing, column: SealedColumn, opts: RotationOptions): Promise<ColumnOutcome> {
  const outcome: ColumnOutcome = { name: column.name, reencrypted: 0, failed: [], byKeyId: {} };
  const before = await countByKeyId(ds, column);
  const todo = (counts: Record<string, number>) => Object.entries(counts).reduce((n, [kid, c]) => (kid === ring.primaryKeyId ? n : n + c), 0);
  opts.log(`${column.name}: ${describeKeyCounts(before)}`);
  for (let pass = 1; pass <= opts.maxPasses; pass += 1) {
    // Rows that failed to open stay under their key: counting them again would loop for nothing.
    const remaining = todo(await countByKeyId(ds, column)) - outcome.failed.length;
    if (remaining <= 0) break;
    if (pass > 1) {
      opts.log(`${column.name}: ${remaining} ${remaining === 1 ? 'row was' : 'rows were'} locked or written meanwhile; scanning again`);
      await new Promise((r) => setTimeout(r, opts.passPauseMs));
    }
    const total = outcome.reencrypted + remaining;
    outcome.failed = [];
    let afterId: string | null = FIRST_ID;
    while (afterId !== null) {
      afterId = await rotateBatch(ds, ring, column, afterId, opts.batchSize, outcome);
      if (afterId !== null) opts.log(`${column.name}: ${outcome.reencrypted}/${total} re-encrypted`);
    }
  }
  outcome.byKeyId = await countByKeyId(ds, column);
  opts.log(`${column.name}: done, ${outcome.reencrypted} re-encrypted; now ${describeKeyCounts(outcome.byKeyId)}`);
  return outcome;
}

/**
 * Re-encrypts every sealed value under the ring's first key, table by table, in short transactions.
 * Safe while API and worker run: each batch locks only its own rows, skipping the ones a running
 * transaction holds (a credential swap, a new OAuth attempt, a client-secret update), and writes
 * a row back only if it still holds what was read. Idempotent and resumable: rows already under the
 * first key are never selected, so an interrupted run simply continues where it stopped.
 */
export async function rotateSealedColumns(ds: DataSource, ring: KeyRing, opts: RotationOptions): Promise<ColumnOutcome[]> {
  const outcomes: ColumnOutcome[] = [];
  for (const column of SEALED_COLUMNS) outcomes.push(await rotateColumn(ds, ring, column, opts));
  return outcomes;
}
