/** The store behaviour suite on SQLite: each database is a file in its own temp directory. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { defineStoreSuite } from "./behaviour.js";

defineStoreSuite({
  name: "sqlite",
  createDatabase: async () => {
    const dir = mkdtempSync(join(tmpdir(), "durun-store-suite-"));
    const path = join(dir, "durun.db");
    return {
      open: () => new SqliteStore({ path }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
