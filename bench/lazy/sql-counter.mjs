// Counts every SQL statement that better-sqlite3 executes in this process, whatever store
// code issues it: Statement#run/get/all/iterate (this includes the BEGIN/COMMIT/SAVEPOINT
// statements of db.transaction(), which better-sqlite3 runs as prepared statements) and
// Database#exec (counted once per call, even when the string holds several statements).
// The patch is installed on the shared prototypes, so it must run before the store opens a
// database; it costs a counter increment per statement. It does not see statements run in
// other threads or processes.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export const sqlCount = { run: 0, get: 0, all: 0, iterate: 0, exec: 0, prepare: 0 };

let installed = false;

/** Patch better-sqlite3 once; returns false (and counts nothing) if it cannot be loaded. */
export function installSqlCounter() {
  if (installed) return true;
  let Database;
  try {
    Database = require("better-sqlite3");
  } catch {
    return false;
  }
  const probe = new Database(":memory:");
  const stmtProto = Object.getPrototypeOf(probe.prepare("SELECT 1"));
  probe.close();
  for (const name of ["run", "get", "all", "iterate"]) {
    const orig = stmtProto[name];
    stmtProto[name] = function countedStatement(...args) {
      sqlCount[name]++;
      return orig.apply(this, args);
    };
  }
  const origExec = Database.prototype.exec;
  Database.prototype.exec = function countedExec(...args) {
    sqlCount.exec++;
    return origExec.apply(this, args);
  };
  const origPrepare = Database.prototype.prepare;
  Database.prototype.prepare = function countedPrepare(...args) {
    sqlCount.prepare++;
    return origPrepare.apply(this, args);
  };
  installed = true;
  return true;
}

/** Statements executed so far (prepare is not an execution and is not included). */
export function sqlTotal() {
  return sqlCount.run + sqlCount.get + sqlCount.all + sqlCount.iterate + sqlCount.exec;
}

export function sqlSnapshot() {
  return { ...sqlCount, total: sqlTotal() };
}

export function sqlDelta(before, after) {
  const d = {};
  for (const k of Object.keys(after)) d[k] = after[k] - (before[k] ?? 0);
  return d;
}
