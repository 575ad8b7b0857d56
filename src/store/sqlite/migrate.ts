/**
 * Applies the numbered SQL migrations of `./migrations/` (copied to dist by
 * scripts/copy-assets.mjs) in order, each in its own transaction, recording each in the
 * `durun_migrations` ledger. Migrations may call the SQL functions registered here
 * (`durun_cache_key`, see cache-key.ts).
 */
import { loadMigrations, type Migration } from "../rows.js";
import { CACHE_KEY_FUNCTION, cacheKey } from "./cache-key.js";
import type Database from "better-sqlite3";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

let loaded: Migration[] | undefined;

function migrations(): Migration[] {
  loaded ??= loadMigrations(MIGRATIONS_DIR);
  return loaded;
}

/** The highest migration version this code knows. */
export function latestVersion(): number {
  return migrations().at(-1)?.version ?? 0;
}

/**
 * Brings the schema up to date. Throws `"not a durun database"` (as a plain Error) when the file
 * holds tables but no durun ledger, and `"newer"` when it was migrated by a newer durun.
 * Returns the number of statements executed.
 */
export function migrate(db: Database.Database): number {
  let statements = 0;
  const hasLedger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'durun_migrations'").get() !== undefined;
  statements++;
  if (!hasLedger) {
    const other = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    statements++;
    if (other.n > 0) throw new NotDurunDatabaseError("it holds tables but no durun_migrations ledger");
    db.exec("CREATE TABLE durun_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    statements++;
  }
  const applied = new Set((db.prepare("SELECT version FROM durun_migrations").all() as { version: number }[]).map((r) => r.version));
  statements++;
  const newest = Math.max(0, ...applied);
  if (newest > latestVersion()) {
    throw new NotDurunDatabaseError(`it was migrated to schema version ${newest} by a newer durun (this one knows ${latestVersion()})`);
  }
  const pending = migrations().filter((m) => !applied.has(m.version));
  if (pending.length === 0) return statements;
  db.function(CACHE_KEY_FUNCTION, { deterministic: true }, (taskHash: unknown, argsHash: unknown) => cacheKey(String(taskHash), String(argsHash)));
  const isApplied = db.prepare("SELECT 1 FROM durun_migrations WHERE version = ?");
  const record = db.prepare("INSERT INTO durun_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of pending) {
    // IMMEDIATE takes the write lock first, so a process that migrated meanwhile is seen here.
    db.transaction(() => {
      if (isApplied.get(m.version) !== undefined) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
    statements += 3;
  }
  return statements;
}

/** The file is a SQLite database but not one durun can use. */
export class NotDurunDatabaseError extends Error {}
