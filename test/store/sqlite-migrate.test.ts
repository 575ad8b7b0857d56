import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { emptyBatch } from "../../src/store/store.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { task } from "../../src/tasks/task.js";
import { sha256Hex } from "../../src/values/hash.js";
import { encodeValue } from "../../src/values/codec.js";
import { ns, tempDir } from "../scheduler/helpers.js";

/** The schema of version 1, as shipped. */
const V1_SQL = readFileSync(new URL("../../src/store/sqlite/migrations/0001-initial.sql", import.meta.url), "utf8");
const V1_CACHE_ENTRIES = V1_SQL.slice(V1_SQL.indexOf("CREATE TABLE cache_entries"));

/** A database file as durun 0001 left it: the schema of 0001.sql and its ledger row. */
function createV1Database(path: string): Database.Database {
  const raw = new Database(path);
  raw.pragma("journal_mode = WAL");
  raw.exec("CREATE TABLE durun_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  raw.exec(V1_SQL);
  raw.prepare("INSERT INTO durun_migrations (version, name, applied_at) VALUES (1, 'initial', ?)").run(Date.now());
  return raw;
}

describe("SQLite schema version 2 (compact cache key)", () => {
  it("moves the cache entries of a version 1 database over and finds them by their hashes", async () => {
    const path = join(tempDir(), "v1.db");
    const raw = createV1Database(path);
    const taskHash = sha256Hex("task");
    const other = sha256Hex("other task");
    const value = (v: unknown) => ({ hash: sha256Hex(encodeValue(v)), text: encodeValue(v) });
    const results = Array.from({ length: 3 }, (_, i) => value(["result", i]));
    const expression = value({ expression: true });
    const insertValue = raw.prepare("INSERT INTO stored_values (hash, data) VALUES (?, ?)");
    for (const v of [...results, expression]) insertValue.run(v.hash, v.text);
    const insertEntry = raw.prepare(
      "INSERT INTO cache_entries (task_hash, args_hash, task_name, result_hash, final_hash, call_hash, reached, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const args = results.map((_, i) => sha256Hex(`args ${i}`));
    insertEntry.run(taskHash, args[0], "ns.t", results[0]!.hash, results[0]!.hash, sha256Hex("c0"), "", 1);
    insertEntry.run(taskHash, args[1], "ns.t", expression.hash, results[1]!.hash, sha256Hex("c1"), '[["ns.u","h"]]', 2);
    // The same args hash under another task hash: a distinct entry.
    insertEntry.run(other, args[0], "ns.t", results[2]!.hash, results[2]!.hash, sha256Hex("c2"), "", 3);
    raw.close();

    const store = new SqliteStore({ path });
    const found = await store.lookupCache([
      { taskHash, argsHash: args[0]! },
      { taskHash, argsHash: args[2]! }, // never cached
      { taskHash, argsHash: args[1]! },
      { taskHash: other, argsHash: args[0]! },
      { taskHash, argsHash: args[0]! },
    ]);
    expect(found).toEqual([
      {
        taskHash, argsHash: args[0], resultHash: results[0]!.hash, resultText: results[0]!.text, finalHash: results[0]!.hash,
        finalText: results[0]!.text, callHash: sha256Hex("c0"), reachedText: "",
      },
      undefined,
      {
        taskHash, argsHash: args[1], resultHash: expression.hash, resultText: expression.text, finalHash: results[1]!.hash,
        finalText: results[1]!.text, callHash: sha256Hex("c1"), reachedText: '[["ns.u","h"]]',
      },
      {
        taskHash: other, argsHash: args[0], resultHash: results[2]!.hash, resultText: results[2]!.text, finalHash: results[2]!.hash,
        finalText: results[2]!.text, callHash: sha256Hex("c2"), reachedText: "",
      },
      found[0],
    ]);
    expect((await store.findCacheTaskHashes("ns.t", args[0]!)).sort()).toEqual([taskHash, other].sort());

    // A moved entry is replaced in place by a newer one under the same key.
    const batch = emptyBatch();
    batch.cacheEntries.push({
      taskHash, argsHash: args[0]!, taskName: "ns.t", resultHash: results[2]!.hash, finalHash: results[2]!.hash,
      callHash: sha256Hex("c3"), reachedText: "", createdAt: 4,
    });
    await store.write(batch);
    const [replaced] = await store.lookupCache([{ taskHash, argsHash: args[0]! }]);
    expect(replaced).toMatchObject({ resultHash: results[2]!.hash, callHash: sha256Hex("c3") });
    await store.close();

    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT version, name FROM durun_migrations ORDER BY version").all()).toEqual([
      { version: 1, name: "initial" },
      { version: 2, name: "compact-cache-key" },
    ]);
    expect(check.prepare("SELECT count(*) AS n FROM cache_entries").get()).toEqual({ n: 3 });
    check.close();
  });

  it("a scheduler keeps its cache hits across the upgrade of a version 1 file", async () => {
    const namespace = ns();
    let runs = 0;
    const inc = task("inc", (x: number) => {
      runs++;
      return x + 1;
    }, { namespace });
    const db = join(tempDir(), "durun.db");
    // Record calls, then put the file back in the version 1 layout: the cache_entries table of
    // 0001-initial.sql holding the same rows, and a ledger that ends at version 1.
    const s1 = new Scheduler({ db });
    expect(await s1.run(Array.from({ length: 5 }, (_, i) => inc(i)))).toEqual([1, 2, 3, 4, 5]);
    await s1.close();
    expect(runs).toBe(5);
    const downgrade = new Database(db);
    downgrade.exec(`
      CREATE TABLE cache_v2 AS SELECT * FROM cache_entries;
      DROP TABLE cache_entries;
      ${V1_CACHE_ENTRIES}
      INSERT INTO cache_entries (task_hash, args_hash, task_name, result_hash, final_hash, call_hash, reached, created_at)
        SELECT task_hash, args_hash, task_name, result_hash, final_hash, call_hash, reached, created_at FROM cache_v2;
      DROP TABLE cache_v2;
      DELETE FROM durun_migrations WHERE version > 1;
    `);
    expect(downgrade.prepare("SELECT count(*) AS n FROM cache_entries").get()).toEqual({ n: 5 });
    downgrade.close();

    const s2 = new Scheduler({ db });
    expect(await s2.run(Array.from({ length: 6 }, (_, i) => inc(i)))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runs).toBe(6); // only inc(5) ran
    await s2.close();
  });
});
