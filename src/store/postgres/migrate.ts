/**
 * Applies the numbered SQL migrations of `./migrations/` (copied to dist by
 * scripts/copy-assets.mjs) to the `durun` schema of a PostgreSQL database, in order, each in its
 * own transaction, recording each in the `durun.migrations` ledger.
 *
 * Safe when several processes open the same database at once: migrating happens under a
 * session-level advisory lock ({@link MIGRATION_LOCK}), and the ledger is read again after the
 * lock is taken. An up-to-date database costs one statement and takes no lock.
 */
import { loadMigrations, type Migration } from "../rows.js";
import type pg from "pg";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

/** The advisory lock key held while migrating (an arbitrary constant: "durun" in ASCII). */
export const MIGRATION_LOCK = 0x647572756e;

let loaded: Migration[] | undefined;

function migrations(): Migration[] {
  loaded ??= loadMigrations(MIGRATIONS_DIR);
  return loaded;
}

/** The highest migration version this code knows. */
export function latestVersion(): number {
  return migrations().at(-1)?.version ?? 0;
}

/** The schema holds durun-looking tables but no ledger, or was migrated by a newer durun. */
export class NotDurunSchemaError extends Error {}

/** SQLSTATEs of "the ledger is not there yet". */
const MISSING = new Set(["42P01" /* undefined_table */, "3F000" /* invalid_schema_name */]);

/**
 * Brings the `durun` schema up to date. Throws {@link NotDurunSchemaError} when the schema
 * holds tables but no ledger, or was migrated by a newer durun. Returns the number of
 * statements executed.
 *
 * @example
 * const statements = await migrate(pool);
 */
export async function migrate(pool: pg.Pool): Promise<number> {
  let statements = 1;
  try {
    const r = await pool.query<{ v: number | null }>("SELECT max(version) AS v FROM durun.migrations");
    const current = r.rows[0]?.v ?? 0;
    if (current === latestVersion()) return statements;
    if (current > latestVersion()) throw newer(current);
  } catch (e) {
    if (e instanceof NotDurunSchemaError) throw e;
    if (!MISSING.has(String((e as { code?: unknown }).code))) throw e;
  }
  const client = await pool.connect();
  // A connection whose unlock failed is destroyed, which releases its session lock.
  let broken = false;
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    statements++;
    try {
      statements += await migrateLocked(client);
    } finally {
      try {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
        statements++;
      } catch {
        broken = true;
      }
    }
  } finally {
    client.release(broken);
  }
  return statements;
}

async function migrateLocked(client: pg.PoolClient): Promise<number> {
  let statements = 0;
  const has = await client.query<{ ledger: boolean; tables: string }>(
    `SELECT to_regclass('durun.migrations') IS NOT NULL AS ledger,
            (SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'durun') AS tables`,
  );
  statements++;
  const row = has.rows[0];
  if (!row?.ledger) {
    if (Number(row?.tables ?? 0) > 0) throw new NotDurunSchemaError("its schema \"durun\" holds tables but no durun.migrations ledger");
    await client.query(
      `CREATE SCHEMA IF NOT EXISTS durun;
       CREATE TABLE IF NOT EXISTS durun.migrations (
         version     integer PRIMARY KEY,
         name        text NOT NULL,
         applied_at  timestamptz NOT NULL DEFAULT now()
       )`,
    );
    statements++;
  }
  const applied = new Set((await client.query<{ version: number }>("SELECT version FROM durun.migrations")).rows.map((r) => r.version));
  statements++;
  const newest = Math.max(0, ...applied);
  if (newest > latestVersion()) throw newer(newest);
  for (const m of migrations()) {
    if (applied.has(m.version)) continue;
    await client.query("BEGIN");
    try {
      await client.query(m.sql);
      await client.query("INSERT INTO durun.migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
    statements += 4;
  }
  return statements;
}

function newer(version: number): NotDurunSchemaError {
  return new NotDurunSchemaError(`it was migrated to schema version ${version} by a newer durun (this one knows ${latestVersion()})`);
}
