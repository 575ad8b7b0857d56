import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { StoreError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { emptyBatch, type ArgumentRow, type CallRow } from "../../src/store/store.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { task } from "../../src/tasks/task.js";
import { File } from "../../src/values/file.js";
import { makeScheduler, ns, tempDir } from "../scheduler/helpers.js";

describe("provenance store (SQLite)", () => {
  it("records the call graph with parent links, arguments with upstream calls, values and task sources", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    const double = task("double", (x: number) => 2 * x, { namespace });
    const main = task("main", (x: number) => double(add(x, 1)), { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(main(3), { description: "durun run demo.ts main --x 3" })).toBe(8);

    const [exec] = await scheduler.db.listExecutions({ limit: 5 });
    expect(exec).toMatchObject({
      id: scheduler.lastExecutionId,
      taskName: `${namespace}.main`,
      args: "3",
      description: "durun run demo.ts main --x 3",
      status: "done",
      callCount: 3,
    });
    expect(exec!.endedAt!.getTime()).toBeGreaterThanOrEqual(exec!.startedAt.getTime());

    const { calls } = await scheduler.db.getCallGraph(exec!.id);
    const byName = (n: string) => calls.find((c) => c.taskName === `${namespace}.${n}`)!;
    const [m, a, d] = [byName("main"), byName("add"), byName("double")];
    expect(m.parentId).toBeNull();
    expect(a.parentId).toBe(m.id);
    expect(d.parentId).toBe(m.id);
    expect(exec!.rootCallId).toBe(m.id);
    for (const c of calls) {
      expect(c.status).toBe("done");
      expect(c.taskHash).toMatch(/^[0-9a-f]{64}$/);
      expect(c.argsHash).toMatch(/^[0-9a-f]{64}$/);
      expect(c.callHash).toMatch(/^[0-9a-f]{64}$/);
      expect(c.resultHash).toMatch(/^[0-9a-f]{64}$/);
      expect(c.startedAt).toBeInstanceOf(Date);
    }
    expect(await scheduler.db.getValue(d.resultHash!)).toBe(8);
    expect(await scheduler.db.getValue(a.resultHash!)).toBe(4);

    // double's argument came from add: the upstream link names add's call.
    const detail = await scheduler.db.getCall(d.id);
    expect(detail!.args).toEqual([{ position: 0, valueHash: expect.stringMatching(/^[0-9a-f]{64}$/), upstreamCallId: a.id, value: 4 }]);
    expect(detail!.result).toBe(8);
    expect(detail!.task!.source).toContain("2 * x");
    expect(detail!.task!.fullName).toBe(`${namespace}.double`);
    const addDetail = await scheduler.db.getCall(a.id.slice(0, 12)); // a unique prefix
    expect(addDetail!.args.map((x) => [x.value, x.upstreamCallId])).toEqual([[3, null], [1, null]]);
    // main's recorded result is the expression it returned
    expect(String(detail && (await scheduler.db.getCall(m.id))!.result)).toBe(`${namespace}.double(${namespace}.add(3, 1))`);
    expect(await scheduler.db.getTask(d.taskHash)).toMatchObject({ name: "double", namespace, fullName: `${namespace}.double` });
    expect(await scheduler.db.getExecution(exec!.id.slice(0, 8))).toMatchObject({ id: exec!.id });
  });

  it("round-trips stored values of many types", async () => {
    const namespace = ns();
    const dir = tempDir();
    writeFileSync(join(dir, "f.txt"), "x");
    const value = { d: new Date(5), m: new Map([[1, "a"]]), s: new Set([2n]), u: undefined, bytes: new Uint8Array([1, 2]), f: new File(join(dir, "f.txt")) };
    const echo = task("echo", (v: typeof value) => v, { namespace });
    const { scheduler } = makeScheduler();
    const out = await scheduler.run(echo(value));
    const [call] = (await scheduler.db.getCallGraph(scheduler.lastExecutionId!)).calls;
    const stored = (await scheduler.db.getValue(call!.resultHash!)) as typeof value;
    expect(stored).toEqual(out);
    expect(stored.f).toBeInstanceOf(File);
    expect(stored.f.path).toBe(join(dir, "f.txt"));
  });

  it("keeps the cache across schedulers on the same file", async () => {
    const namespace = ns();
    let runs = 0;
    const inc = task("inc", (x: number) => {
      runs++;
      return x + 1;
    }, { namespace });
    const db = join(tempDir(), "nested", "dir", "cache.db");
    const s1 = new Scheduler({ db });
    await s1.run(inc(1));
    await s1.close();
    const s2 = new Scheduler({ db: `sqlite:${db}` });
    expect(await s2.run(inc(1))).toBe(2);
    expect(runs).toBe(1);
    expect(await s2.db.listExecutions()).toHaveLength(2);
    await s2.close();
    const raw = new Database(db);
    expect(raw.prepare("SELECT version, name FROM durun_migrations ORDER BY version").all()).toEqual([
      { version: 1, name: "initial" },
      { version: 2, name: "compact-cache-key" },
    ]);
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
  });

  it("works in memory", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const s = new Scheduler({ db: ":memory:" });
    expect(await s.run(inc(1))).toBe(2);
    expect(await s.db.listExecutions()).toHaveLength(1);
    await s.close();
  });

  it("keys argument rows by the seq of their call, also when a batch repeats a recorded call", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    const call = (id: string): CallRow => ({
      id, executionId: "e", parentId: null, taskName: "t", taskHash: "th", argsHash: `a-${id}`, callHash: null, resultHash: null,
      finalHash: null, status: "done", startedAt: 1, endedAt: 2, error: null, attempts: 1,
    });
    const arg = (callId: string, position: number): ArgumentRow => ({ callId, position, valueHash: `v-${callId}-${position}`, upstreamCallId: null });
    const first = emptyBatch();
    first.calls.push(call("c1"), call("c2"));
    first.arguments.push(arg("c1", 0), arg("c2", 0), arg("c2", 1));
    await store.write(first);
    const second = emptyBatch();
    second.calls.push(call("c3"), call("c1"), call("c4")); // c1 exists: that chunk's seqs are read back
    second.arguments.push(arg("c3", 0), arg("c4", 0), arg("c1", 1));
    await store.write(second);
    const third = emptyBatch();
    third.calls.push(call("c5"));
    third.arguments.push(arg("c5", 0), arg("c2", 2));
    await store.write(third);
    const args = async (id: string) => (await store.getCall(id))!.args.map((a) => a.valueHash);
    expect(await args("c1")).toEqual(["v-c1-0", "v-c1-1"]);
    expect(await args("c2")).toEqual(["v-c2-0", "v-c2-1", "v-c2-2"]);
    expect(await args("c3")).toEqual(["v-c3-0"]);
    expect(await args("c4")).toEqual(["v-c4-0"]);
    expect(await args("c5")).toEqual(["v-c5-0"]);
    await store.close();
  });

  it("counts SQL statements", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const { scheduler } = makeScheduler();
    const before = scheduler.db.stats.statements;
    await scheduler.run(Array.from({ length: 500 }, (_, i) => inc(i)));
    const used = scheduler.db.stats.statements - before;
    expect(used).toBeGreaterThan(0);
    expect(used / 500).toBeLessThan(1);
  });

  it("refuses a corrupt database file with a message that says what to do", () => {
    const path = join(tempDir(), "durun.db");
    writeFileSync(path, "this is not a database, just some text that is long enough to look like a header".repeat(20));
    expect(() => new Scheduler({ db: path })).toThrow(StoreError);
    expect(() => new Scheduler({ db: path })).toThrow(
      new RegExp(`^database file ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a durun database or is corrupt \\(.*\\); move it away or pass --db <other path>$`),
    );
  });

  it("refuses a SQLite file that belongs to something else", () => {
    const path = join(tempDir(), "other.db");
    const raw = new Database(path);
    raw.exec("CREATE TABLE people (name TEXT)");
    raw.close();
    expect(() => new Scheduler({ db: path })).toThrow(/is not a durun database or is corrupt \(it holds tables but no durun_migrations ledger\)/);
  });

  it("names a path that cannot be created", () => {
    const dir = tempDir();
    const blocker = join(dir, "file");
    writeFileSync(blocker, "x");
    const path = join(blocker, "sub", "durun.db");
    expect(() => new Scheduler({ db: path })).toThrow(StoreError);
    expect(() => new Scheduler({ db: path })).toThrow(new RegExp(`cannot create the database ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*pass --db <other path>`));
    expect(existsSync(join(blocker, "sub"))).toBe(false);
  });

  it("names a directory it cannot write", () => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions: use a path under a file instead (covered above)
      expect(() => new Scheduler({ db: "/proc/version/durun.db" })).toThrow(/cannot create the database \/proc\/version\/durun.db/);
      return;
    }
    const dir = join(tempDir(), "ro");
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    expect(() => new Scheduler({ db: join(dir, "durun.db") })).toThrow(/cannot open the database .*ro\/durun.db/);
  });

  it("fails (does not hang) on a path under /proc, where a recursive mkdir loops forever on Node 20", async () => {
    // In a child process with a timeout: the hang is synchronous, so it would stop this worker.
    const fixture = fileURLToPath(new URL("./fixtures/open-scheduler.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", fixture, "/proc/durun-nonexistent/x/y.db"], { timeout: 20_000 });
    expect(stdout.trim()).toMatch(/^StoreError: cannot create the database \/proc\/durun-nonexistent\/x\/y\.db: .*\/proc\/durun-nonexistent.*; pass --db <other path>$/);
  }, 30_000);

  it("creates missing parent directories level by level", async () => {
    const path = join(tempDir(), "a", "b", "c", "durun.db");
    const s = new Scheduler({ db: path });
    await s.close();
    expect(existsSync(path)).toBe(true);
  });

  it("rejects unknown URL schemes", () => {
    expect(() => new Scheduler({ db: "mysql://localhost/x" })).toThrow(/unsupported database URL "mysql:\/\/localhost\/x"/);
  });
});

describe("two schedulers on one SQLite file", () => {
  it("both record, and each sees the other's cache entries", async () => {
    const namespace = ns();
    let runs = 0;
    const inc = task("inc", async (x: number) => {
      runs++;
      await new Promise((r) => setTimeout(r, 1));
      return x + 1;
    }, { namespace });
    const db = join(tempDir(), "shared.db");
    const a = new Scheduler({ db });
    const b = new Scheduler({ db });
    try {
      const [ra, rb] = await Promise.all([
        a.run(Array.from({ length: 200 }, (_, i) => inc(i))),
        b.run(Array.from({ length: 200 }, (_, i) => inc(i + 1000))),
      ]);
      expect(ra[199]).toBe(200);
      expect(rb[0]).toBe(1001);
      expect(runs).toBe(400);
      expect(await b.run(inc(5))).toBe(6); // recorded by a
      expect(runs).toBe(400);
      expect(await a.db.listExecutions()).toHaveLength(3);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
