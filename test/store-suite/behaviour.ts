/**
 * The store behaviour suite (convention 10): the same store-level tests for every
 * implementation of `Store`. A test file calls {@link defineStoreSuite} with a factory that
 * creates empty databases of its kind.
 *
 * Tests share one database per file and isolate themselves by random ids and hashes; the
 * migration tests make their own extra databases.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreError } from "../../src/errors.js";
import { emptyBatch, type CallRow, type CacheEntryRow, type ExecutionRow, type Store, type WriteBatch } from "../../src/store/store.js";
import { encodeValue, hashValue } from "../../src/values/codec.js";

/** An empty database of one store kind. */
export interface SuiteDatabase {
  /** A new store on this database (its own connection, as another process would have). */
  open(): Store;
  /** Removes the database. */
  drop(): Promise<void>;
}

/** What the suite needs from an implementation. */
export interface StoreFactory {
  /** Shown in the test names, e.g. "sqlite". */
  readonly name: string;
  /** Creates an empty database. */
  createDatabase(): Promise<SuiteDatabase>;
}

const hex = (n = 32): string => randomBytes(n).toString("hex");

/** A value row for `value`, with its real hash and encoding. */
function valueRow(value: unknown): { hash: string; text: string } {
  return { hash: hashValue(value), text: encodeValue(value) };
}

interface Fixture {
  batch: WriteBatch;
  execution: ExecutionRow;
  root: CallRow;
  child: CallRow;
  failed: CallRow;
  entry: CacheEntryRow;
  taskHash: string;
  childTaskHash: string;
}

/** A batch shaped like the scheduler's: execution running then done, tasks, values, calls, arguments, a cache entry. */
function fixture(idPrefix = ""): Fixture {
  const t0 = 1_700_000_000_000 + Math.floor(Math.random() * 1e6);
  const executionId = idPrefix + randomUUID();
  const taskHash = hex();
  const childTaskHash = hex();
  const arg = valueRow({ n: 3, list: [1, "two"] });
  const result = valueRow(["result", 42]);
  const childResult = valueRow(7);
  const root: CallRow = {
    id: idPrefix + randomUUID(), executionId, parentId: null, taskName: "ns.main", taskHash, argsHash: hex(), callHash: hex(),
    resultHash: result.hash, finalHash: result.hash, status: "done", startedAt: t0 + 1, endedAt: t0 + 50, error: null, attempts: 1,
  };
  const child: CallRow = {
    id: idPrefix + randomUUID(), executionId, parentId: root.id, taskName: "ns.child", taskHash: childTaskHash, argsHash: hex(), callHash: hex(),
    resultHash: childResult.hash, finalHash: childResult.hash, status: "cached", startedAt: t0 + 2, endedAt: t0 + 3, error: null, attempts: 0,
  };
  const failed: CallRow = {
    id: idPrefix + randomUUID(), executionId, parentId: root.id, taskName: "ns.child", taskHash: childTaskHash, argsHash: hex(), callHash: null,
    resultHash: null, finalHash: null, status: "failed", startedAt: t0 + 2, endedAt: t0 + 9, error: "Error: boom", attempts: 2,
  };
  const running: ExecutionRow = {
    id: executionId, taskName: "ns.main", args: "3", description: "durun run x.ts main", status: "running",
    startedAt: t0, endedAt: null, error: null, rootCallId: null, callCount: 0,
  };
  const execution: ExecutionRow = { ...running, status: "done", endedAt: t0 + 60, rootCallId: root.id, callCount: 3 };
  const entry: CacheEntryRow = {
    taskHash, argsHash: root.argsHash, taskName: "ns.main", resultHash: result.hash, finalHash: result.hash, callHash: root.callHash!,
    reachedText: JSON.stringify([["ns.child", childTaskHash]]), createdAt: t0 + 50,
  };
  const batch = emptyBatch();
  batch.executions.push(running, execution);
  batch.tasks.push(
    { hash: taskHash, name: "main", namespace: "ns", fullName: "ns.main", source: "(x) => child(x)" },
    { hash: childTaskHash, name: "child", namespace: "ns", fullName: "ns.child", source: "(x) => x + 4" },
  );
  batch.values.push(arg, result, childResult, arg);
  batch.calls.push(root, child, failed);
  batch.arguments.push(
    { callId: root.id, position: 0, valueHash: arg.hash, upstreamCallId: null },
    { callId: child.id, position: 0, valueHash: arg.hash, upstreamCallId: null },
    { callId: child.id, position: 1, valueHash: childResult.hash, upstreamCallId: root.id },
  );
  batch.cacheEntries.push(entry);
  return { batch, execution, root, child, failed, entry, taskHash, childTaskHash };
}

/**
 * Defines the store behaviour tests for one implementation.
 *
 * @example
 * defineStoreSuite({ name: "sqlite", createDatabase: async () => ({ open: () => new SqliteStore({ path }), drop: async () => {} }) });
 */
export function defineStoreSuite(factory: StoreFactory): void {
  describe(`store behaviour: ${factory.name}`, () => {
    let database: SuiteDatabase;
    const opened: Store[] = [];
    const open = (db: SuiteDatabase = database): Store => {
      const s = db.open();
      opened.push(s);
      return s;
    };

    beforeAll(async () => {
      database = await factory.createDatabase();
    });
    afterAll(async () => {
      await Promise.allSettled(opened.map((s) => s.close()));
      await database?.drop();
    });

    it("migrating is idempotent: a second open keeps the data and migrates nothing", async () => {
      const db = await factory.createDatabase();
      try {
        const first = open(db);
        const f = fixture();
        await first.write(f.batch);
        const firstOpenCost = first.stats.statements;
        await first.close();

        const second = open(db);
        expect((await second.getExecution(f.execution.id))?.status).toBe("done");
        const third = open(db);
        expect(await third.getValue(f.root.resultHash!)).toEqual(["result", 42]);
        // Opening a migrated database costs less than creating the schema did.
        expect(second.stats.statements).toBeLessThan(firstOpenCost);
        expect(third.stats.statements).toBe(second.stats.statements);
        await Promise.all([second.close(), third.close()]);
      } finally {
        await db.drop();
      }
    });

    it("several stores opening a fresh database at once all migrate it safely", async () => {
      const db = await factory.createDatabase();
      try {
        const stores = Array.from({ length: 4 }, () => open(db));
        const fixtures = stores.map(() => fixture());
        await Promise.all(stores.map((s, i) => s.write(fixtures[i]!.batch)));
        const reader = open(db);
        for (const f of fixtures) expect((await reader.getExecution(f.execution.id))?.callCount).toBe(3);
        await Promise.all([...stores, reader].map((s) => s.close()));
      } finally {
        await db.drop();
      }
    });

    it("a write batch reads back through every query", async () => {
      const store = open();
      const f = fixture();
      await store.write(f.batch);
      const reader = open(); // another process: nothing cached in memory

      const exec = await reader.getExecution(f.execution.id);
      expect(exec).toEqual({
        id: f.execution.id, taskName: "ns.main", args: "3", description: "durun run x.ts main", status: "done",
        startedAt: new Date(f.execution.startedAt), endedAt: new Date(f.execution.endedAt!), error: null, rootCallId: f.root.id, callCount: 3,
      });

      const { calls } = await reader.getCallGraph(f.execution.id);
      expect(calls.map((c) => c.id)).toEqual([f.root.id, f.child.id, f.failed.id]);
      expect(calls[0]).toEqual({ ...f.root, startedAt: new Date(f.root.startedAt), endedAt: new Date(f.root.endedAt) });
      expect(calls[2]).toMatchObject({ status: "failed", callHash: null, resultHash: null, finalHash: null, error: "Error: boom", attempts: 2 });

      const detail = await reader.getCall(f.child.id);
      expect(detail?.parentId).toBe(f.root.id);
      expect(detail?.args).toEqual([
        { position: 0, valueHash: f.batch.values[0]!.hash, upstreamCallId: null, value: { n: 3, list: [1, "two"] } },
        { position: 1, valueHash: f.child.resultHash, upstreamCallId: f.root.id, value: 7 },
      ]);
      expect(detail?.result).toBe(7);
      expect(detail?.task).toEqual({ hash: f.childTaskHash, name: "child", namespace: "ns", fullName: "ns.child", source: "(x) => x + 4" });
      const failedDetail = await reader.getCall(f.failed.id);
      expect(failedDetail).toMatchObject({ status: "failed", result: undefined, args: [] });

      expect(await reader.getValue(f.root.resultHash!)).toEqual(["result", 42]);
      expect(await reader.getValueText(f.root.resultHash!)).toBe(encodeValue(["result", 42]));
      expect(await reader.getTask(f.taskHash)).toMatchObject({ fullName: "ns.main", namespace: "ns", source: "(x) => child(x)" });
      expect(await reader.hasValue(f.child.resultHash!)).toBe(true);
      expect(await reader.hasValue(hex())).toBe(false);

      const missing = { taskHash: hex(), argsHash: hex() };
      const found = await reader.lookupCache([missing, { taskHash: f.taskHash, argsHash: f.root.argsHash }, missing]);
      expect(found).toEqual([
        undefined,
        {
          taskHash: f.taskHash, argsHash: f.root.argsHash, resultHash: f.entry.resultHash, resultText: encodeValue(["result", 42]),
          finalHash: f.entry.finalHash, finalText: encodeValue(["result", 42]), callHash: f.entry.callHash, reachedText: f.entry.reachedText,
        },
        undefined,
      ]);
      expect(await reader.lookupCache([])).toEqual([]);
      expect(await reader.findCacheTaskHashes("ns.main", f.root.argsHash)).toEqual([f.taskHash]);
      expect(await reader.findCacheTaskHashes("ns.main", hex())).toEqual([]);
    });

    it("free text with a NUL character is stored", async () => {
      const store = open();
      const f = fixture();
      const batch = emptyBatch();
      batch.executions.push({ ...f.execution, args: "\"a\0b\"", error: "Error: x\0y" });
      batch.calls.push({ ...f.failed, error: "Error: x\0y" });
      await store.write(batch);
      expect((await store.getExecution(f.execution.id))?.error).toMatch(/^Error: x.y$/);
      expect((await store.getCall(f.failed.id))?.error).toMatch(/^Error: x.y$/);
    });

    it("unknown ids and hashes read back as nothing", async () => {
      const store = open();
      expect(await store.getExecution(randomUUID())).toBeUndefined();
      expect(await store.getCall(randomUUID())).toBeUndefined();
      expect(await store.getCallGraph(randomUUID())).toEqual({ calls: [] });
      expect(await store.getValue(hex())).toBeUndefined();
      expect(await store.getValueText(hex())).toBeUndefined();
      expect(await store.getTask(hex())).toBeUndefined();
    });

    it("lists executions newest first, with a limit", async () => {
      const store = open();
      const future = Date.now() + 1e10 + Math.floor(Math.random() * 1e6) * 10;
      const ids: string[] = [];
      const batch = emptyBatch();
      for (let i = 0; i < 3; i++) {
        const f = fixture();
        const e = { ...f.execution, startedAt: future + i };
        ids.push(e.id);
        batch.executions.push(e);
      }
      await store.write(batch);
      expect((await store.listExecutions({ limit: 2 })).map((e) => e.id)).toEqual([ids[2], ids[1]]);
      expect((await store.listExecutions()).length).toBeLessThanOrEqual(20);
    });

    it("an execution row is updated by a later batch; a call row is never replaced", async () => {
      const store = open();
      const f = fixture();
      const first = emptyBatch();
      first.executions.push(f.batch.executions[0]!);
      first.calls.push(f.root);
      await store.write(first);
      expect((await store.getExecution(f.execution.id))?.status).toBe("running");

      const second = emptyBatch();
      second.executions.push({ ...f.execution, status: "failed", error: "TaskError: x" });
      second.calls.push({ ...f.root, status: "failed", attempts: 9 });
      await store.write(second);
      const exec = await open().getExecution(f.execution.id);
      expect(exec).toMatchObject({ status: "failed", error: "TaskError: x", rootCallId: f.root.id, callCount: 3, endedAt: new Date(f.execution.endedAt!) });
      expect((await open().getCall(f.root.id))?.attempts).toBe(1);
    });

    it("a cache entry is replaced by a later write with the same key", async () => {
      const f = fixture();
      await open().write(f.batch);
      const newer = valueRow({ newer: true });
      const batch = emptyBatch();
      batch.values.push(newer);
      batch.cacheEntries.push({ ...f.entry, resultHash: newer.hash, finalHash: newer.hash, callHash: "c2", reachedText: "[]", createdAt: f.entry.createdAt + 1 });
      // Two entries for one key in one batch: the last one wins.
      batch.cacheEntries.push({ ...f.entry, resultHash: newer.hash, finalHash: newer.hash, callHash: "c3", reachedText: "[]", createdAt: f.entry.createdAt + 2 });
      await open().write(batch);
      const [entry] = await open().lookupCache([{ taskHash: f.taskHash, argsHash: f.root.argsHash }]);
      expect(entry).toMatchObject({ resultHash: newer.hash, resultText: newer.text, callHash: "c3", reachedText: "[]" });
      expect(await open().findCacheTaskHashes("ns.main", f.root.argsHash)).toEqual([f.taskHash]);
    });

    it("values and tasks are stored once: a second write of a hash keeps the first", async () => {
      const hash = hex();
      const taskHash = hex();
      for (const [text, source] of [["\"first\"", "a"], ["\"second\"", "b"]] as const) {
        const batch = emptyBatch();
        batch.values.push({ hash, text }, { hash, text });
        batch.tasks.push({ hash: taskHash, name: "t", namespace: null, fullName: "t", source });
        await open().write(batch); // a new store each time: no in-memory dedupe
      }
      const reader = open();
      expect(await reader.getValue(hash)).toBe("first");
      expect(await reader.getTask(taskHash)).toEqual({ hash: taskHash, name: "t", namespace: null, fullName: "t", source: "a" });

      // The same store does not send a value again: writing it costs what an empty batch does.
      const store = open();
      const v = valueRow(hex());
      const one = emptyBatch();
      one.values.push(v);
      await store.write(one);
      const s0 = store.stats.statements;
      await store.write(emptyBatch());
      const emptyCost = store.stats.statements - s0;
      await store.write(one);
      expect(store.stats.statements - s0).toBe(2 * emptyCost);
    });

    it("finds executions and calls by a unique id prefix, never by an ambiguous one", async () => {
      const store = open();
      const prefix = hex(6);
      const a = fixture(`${prefix}a1`);
      const b = fixture(`${prefix}a2`);
      await store.write(a.batch);
      await store.write(b.batch);
      expect((await store.getExecution(a.execution.id.slice(0, prefix.length + 4)))?.id).toBe(a.execution.id);
      expect(await store.getExecution(`${prefix}a`)).toBeUndefined();
      expect(await store.getExecution(`${prefix}%`)).toBeUndefined();
      expect(await store.getExecution(`${prefix}_1`)).toBeUndefined();
      expect((await store.getCall(a.root.id.slice(0, prefix.length + 10)))?.id).toBe(a.root.id);
      expect(await store.getCall(`${prefix}a`)).toBeUndefined();
      const { calls } = await store.getCallGraph(b.execution.id.slice(0, prefix.length + 12));
      expect(calls.map((c) => c.id)).toEqual([b.root.id, b.child.id, b.failed.id]);

      // An exact id wins over longer ids that start with it.
      const exact = fixture();
      const longer = fixture();
      const batch = emptyBatch();
      batch.executions.push({ ...exact.execution, id: `${prefix}x` }, { ...longer.execution, id: `${prefix}xy` });
      await store.write(batch);
      expect((await store.getExecution(`${prefix}x`))?.id).toBe(`${prefix}x`);
    });

    it("counts statements: one batch and one cache lookup cost a few statements whatever their size", async () => {
      const store = open();
      await store.listExecutions({ limit: 1 }); // opened and migrated
      const before = store.stats.statements;
      await store.getTask(hex());
      expect(store.stats.statements).toBe(before + 1);

      const f = fixture();
      const batch = f.batch;
      for (let i = 0; i < 1000; i++) {
        const v = valueRow(`v${i}-${hex(4)}`);
        batch.values.push(v);
        batch.calls.push({ ...f.child, id: randomUUID(), argsHash: hex(), resultHash: v.hash, finalHash: v.hash, startedAt: f.child.startedAt + i });
        batch.arguments.push({ callId: f.child.id, position: i + 2, valueHash: v.hash, upstreamCallId: null });
      }
      const w0 = store.stats.statements;
      await store.write(batch);
      const writeCost = store.stats.statements - w0;
      expect(writeCost).toBeGreaterThanOrEqual(1);
      expect(writeCost).toBeLessThanOrEqual(40);

      // A map over one task: 500 lookups of one task hash.
      const taskHash = hex();
      const keys = Array.from({ length: 500 }, () => ({ taskHash, argsHash: hex() }));
      const l0 = store.stats.statements;
      expect((await store.lookupCache(keys)).every((e) => e === undefined)).toBe(true);
      expect(store.stats.statements - l0).toBeLessThanOrEqual(3);
      expect(store.stats.statements - l0).toBeGreaterThanOrEqual(1);
      expect((await store.getCallGraph(f.execution.id)).calls).toHaveLength(1003);
    });

    it("a closed store refuses work with a StoreError", async () => {
      const store = open();
      await store.listExecutions();
      await store.close();
      await store.close(); // twice is fine
      await expect(store.listExecutions()).rejects.toBeInstanceOf(StoreError);
      await expect(store.write(fixture().batch)).rejects.toBeInstanceOf(StoreError);
    });
  });
}
