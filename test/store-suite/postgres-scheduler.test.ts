/**
 * The scheduler on PostgreSQL, end to end: `new Scheduler({ db: "postgres://..." })` on a
 * database created for this file (random name, dropped after).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { map, Scheduler, StoreError, task } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "./pg-database.js";

let db: TestDatabase;
const open: Scheduler[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await db?.drop();
});

/** A scheduler on this file's database (a new pool: another "machine"). */
function scheduler(): Scheduler {
  const s = new Scheduler({ db: db.url });
  open.push(s);
  return s;
}

let counter = 0;
/** A task namespace unique to this test (the task registry is shared by the whole process). */
function ns(): string {
  counter++;
  return `pg${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

const MACHINE = fileURLToPath(new URL("./fixtures/pg-machine.ts", import.meta.url));

/** Runs fixtures/pg-machine.ts in its own process: another machine on the same database. */
async function otherMachine(namespace: string, n: number): Promise<{ value: number; executionId: string; statuses: Record<string, number> }> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", MACHINE, db.url, namespace, String(n)], { timeout: 30_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { value: number; executionId: string; statuses: Record<string, number> };
}

/** `short task name: status` of every call of the scheduler's last execution, sorted. */
async function statuses(s: Scheduler): Promise<string[]> {
  const { calls } = await s.db.getCallGraph(s.lastExecutionId!);
  return calls.map((c) => `${c.taskName.replace(/^[^.]*\./, "")}:${c.status}`).sort();
}

describe("scheduler on PostgreSQL", () => {
  it("records a run, and a second run is all cached", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    const double = task("double", async (x: number) => 2 * x, { namespace });
    const main = task("main", (x: number) => double(add(x, 1)), { namespace });
    const s = scheduler();

    expect(await s.run(main(3))).toBe(8);
    expect(await statuses(s)).toEqual(["add:done", "double:done", "main:done"]);
    const first = s.lastExecutionId!;

    expect(await s.run(main(3))).toBe(8);
    expect(await statuses(s)).toEqual(["add:cached", "double:cached", "main:cached"]);

    const [latest, previous] = await s.db.listExecutions({ limit: 2 });
    expect(latest).toMatchObject({ id: s.lastExecutionId, taskName: `${namespace}.main`, status: "done", callCount: 3 });
    expect(previous?.id).toBe(first);
    const root = await s.db.getCall(latest!.rootCallId!.slice(0, 12));
    expect(root).toMatchObject({ taskName: `${namespace}.main`, status: "cached", args: [{ position: 0, value: 3 }] });
    expect(root?.task?.source).toContain("double(add(x, 1))");
  });

  it("a code change re-runs only the changed task", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    const double = task("double", (x: number) => 2 * x, { namespace });
    const main = task("main", (x: number) => double(add(x, 1)), { namespace });
    const s = scheduler();
    expect(await s.run(main(3))).toBe(8);

    // Redefining a task replaces it; `main` refers to it by name.
    task("double", (x: number) => 3 * x, { namespace });
    const again = scheduler(); // another pool: nothing remembered in memory
    expect(await again.run(main(3))).toBe(12);
    expect(await statuses(again)).toEqual(["add:cached", "double:done", "main:cached"]);
  });

  it("two schedulers (two machines) share the cache: the second one's run is cached", async () => {
    const namespace = ns();
    const square = task("square", (x: number) => x * x, { namespace });
    const sum = task("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0), { namespace });
    const main = task("main", (n: number) => sum(map(square, Array.from({ length: n }, (_, i) => i))), { namespace });

    const a = scheduler();
    expect(await a.run(main(50))).toBe(40425);
    const b = scheduler();
    expect(await b.run(main(50))).toBe(40425);
    const st = await statuses(b);
    expect(st).toHaveLength(52);
    expect(st.every((x) => x.endsWith(":cached"))).toBe(true);
    // b's run is visible to a.
    expect((await a.db.getExecution(b.lastExecutionId!))?.callCount).toBe(52);
  });

  it("two processes share the cache: the second process's run is cached", async () => {
    const namespace = ns();
    const first = await otherMachine(namespace, 40);
    expect(first).toMatchObject({ value: 20540, statuses: { done: 42 } });
    const second = await otherMachine(namespace, 40);
    expect(second).toMatchObject({ value: 20540, statuses: { cached: 42 } });

    // Both runs are visible from here (the task sources differ here: vitest transforms them).
    const s = scheduler();
    expect((await s.db.getExecution(first.executionId))?.callCount).toBe(42);
    expect((await s.db.getExecution(second.executionId))?.callCount).toBe(42);
  });

  it("two machines running overlapping graphs at once both finish, and then everything is cached", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const total = task("total", (xs: number[]) => xs.reduce((a, b) => a + b, 0), { namespace });
    const main = task("main", (from: number, n: number) => total(map(inc, Array.from({ length: n }, (_, i) => from + i))), { namespace });
    const a = scheduler();
    const b = scheduler();
    const [x, y] = await Promise.all([a.run(main(0, 300)), b.run(main(100, 300))]);
    expect(x).toBe((300 * 299) / 2 + 300);
    expect(y).toBe(100 * 300 + (300 * 299) / 2 + 300);
    const c = scheduler();
    await c.run(main(0, 300));
    expect((await statuses(c)).every((s) => s.endsWith(":cached"))).toBe(true);
  });

  it("a run of 1,000 calls costs few statements, fresh and cached", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const total = task("total", (xs: number[]) => xs.reduce((a, b) => a + b, 0), { namespace });
    const main = task("main", (n: number) => total(map(inc, Array.from({ length: n }, (_, i) => i))), { namespace });
    const fresh = scheduler();
    await fresh.run(main(998));
    await fresh.close();
    const cached = scheduler();
    await cached.run(main(998));
    await cached.close();
    expect(fresh.db.stats.statements / 1000).toBeLessThan(0.05);
    expect(cached.db.stats.statements / 1000).toBeLessThan(0.05);
  });

  it("an unreachable server or a bad URL fails the run quickly with a StoreError", async () => {
    const namespace = ns();
    const one = task("one", () => 1, { namespace });
    const s = new Scheduler({ db: "postgres://postgres@127.0.0.1:1/durun" });
    const started = Date.now();
    const err = await s.run(one()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(6_000);
    await s.close().catch(() => undefined);
    expect(() => new Scheduler({ db: "postgres://[nope" })).toThrow(StoreError);
  });
});
