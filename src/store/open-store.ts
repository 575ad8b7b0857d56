/**
 * Opens a store from a `db` option: a bare path, `sqlite:<path>`, `:memory:`, or a
 * `postgres://` URL. The only module that knows which implementations exist.
 */
import { StoreError } from "../errors.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/** Where the store lives when no `db` is given: `.durun/durun.db` in the working directory. */
export const DEFAULT_DB = ".durun/durun.db";

/**
 * Opens (and migrates) the store that `db` names.
 *
 * @example
 * const store = openStore("sqlite:/tmp/cache.db");
 */
export function openStore(db: string | undefined): Store {
  const spec = db ?? DEFAULT_DB;
  if (typeof spec !== "string" || spec === "") throw new StoreError(`db must be a path or URL, got ${JSON.stringify(spec)}`);
  if (/^postgres(ql)?:\/\//i.test(spec)) {
    return new PostgresStore({ url: spec });
  }
  if (spec === ":memory:") return new SqliteStore({ path: ":memory:" });
  if (spec.startsWith("sqlite:")) {
    const rest = spec.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (rest === "") throw new StoreError(`db "${spec}" names no file; use sqlite:<path>`);
    return new SqliteStore({ path: rest });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new StoreError(`unsupported database URL "${spec.replace(/\/\/[^@/]*@/, "//***@")}": use a SQLite path or sqlite:<path>`);
  }
  return new SqliteStore({ path: spec });
}
