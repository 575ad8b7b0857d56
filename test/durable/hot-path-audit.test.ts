/**
 * Audit of the durable hot path (RunExecution in run-executor.ts; the batched claim-2.lua and
 * complete-1.lua): behaviour that the rewrites must keep (API.md §2, ARCHITECTURE.md guarantees).
 * The store-level tests drive the scripts directly and check every index against the run hashes.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { newId } from "../../src/durable/ids.js";
import { encodePayload } from "../../src/durable/payload.js";
import { RedisStore } from "../../src/durable/redis/store.js";
import { defineWorkflow, SerializationError, UsageError, type Client, type RunHandle, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const env = useDurableEnv();

/** Plain connections of the current test, closed after it whatever happened. */
const conns: Redis[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.disconnect();
});
function redis(): Redis {
  const c = new Redis(env.url);
  conns.push(c);
  return c;
}

const STATUSES = ["scheduled", "queued", "running", "succeeded", "failed", "canceled"] as const;
type Status = (typeof STATUSES)[number];

async function openStore(): Promise<RedisStore> {
  return RedisStore.connect({ url: env.url, prefix: env.prefix, connectTimeoutMs: 2000, waitThroughOutages: false });
}

/** Creates a queued run of any workflow name (known to a worker or not), as the emit script does. */
async function rawEmit(store: RedisStore, workflow: string, input: unknown, queue = "default"): Promise<string> {
  const id = newId();
  const now = Date.now();
  const r = await store.emit({
    id,
    workflow,
    queue,
    maxAttempts: 3,
    input: encodePayload(input, "input"),
    parentRunId: "",
    idempotencyKey: "",
    idempotencyTtlMs: 1000,
    now,
    runAt: 0,
    skipIfAtLimit: 0,
  });
  expect(r.code).toBe(1);
  return r.id;
}

async function rawEmitMany(store: RedisStore, workflow: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let at = 0; at < n; at += 500) ids.push(...(await Promise.all(Array.from({ length: Math.min(500, n - at) }, (_, i) => rawEmit(store, workflow, at + i)))));
  return ids;
}

/** Calls complete-1.lua once with every group (no 64-entry batching): Lua argument limits. */
async function completeInOneCall(store: RedisStore, groups: Array<[id: string, token: string]>): Promise<number[]> {
  const script = (store as unknown as { script(name: string): (...args: unknown[]) => Promise<unknown> }).script("complete");
  const out = encodePayload("done", "output");
  const codes = (await script(store.keys.leases, store.keys.base, Date.now(), ...groups.flatMap(([id, token]) => [id, token, out]))) as number[];
  return codes.map(Number);
}

/**
 * Checks, in a quiescent state, that every index agrees with the run hashes: status:<s> zsets
 * hold exactly the runs of status s (scored by createdAt), leases hold exactly the running runs,
 * active:<wf> exactly the running runs of wf claimed under a limit, and every queued run is on its
 * queue or its workflow's blocked list. Returns the ids by status.
 */
async function checkIndexes(): Promise<Record<Status, string[]>> {
  const r = new Redis(env.url);
  try {
    const base = `{${env.prefix}}:`;
    const ids = await r.zrange(`${base}runs`, 0, -1);
    const pipe = r.pipeline();
    for (const id of ids) pipe.hmget(`${base}run:${id}`, "status", "workflow", "createdAt", "limited", "queue");
    const rows = ((await pipe.exec()) ?? []).map(([, v]) => v as Array<string | null>);
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, [] as string[]])) as Record<Status, string[]>;
    const rowOf = new Map(ids.map((id, i) => [id, rows[i]!]));
    const activeWanted = new Map<string, string[]>();
    const queuedRows: Array<{ id: string; wf: string; queue: string }> = [];
    rows.forEach(([status, wf, createdAt, limited, queue], i) => {
      const id = ids[i]!;
      expect(STATUSES, `status of ${id}`).toContain(status);
      byStatus[status as Status].push(id);
      if (status === "running" && limited === "1") activeWanted.set(wf!, [...(activeWanted.get(wf!) ?? []), id]);
      if (status === "queued") queuedRows.push({ id, wf: wf!, queue: queue! });
      expect(createdAt, `createdAt of ${id}`).toMatch(/^\d+$/);
    });
    for (const s of STATUSES) {
      const withScores = await r.zrange(`${base}status:${s}`, 0, -1, "WITHSCORES");
      const members = withScores.filter((_, i) => i % 2 === 0);
      expect([...members].sort(), `status:${s} index`).toEqual([...byStatus[s]].sort());
      for (let i = 0; i < withScores.length; i += 2) {
        const row = rowOf.get(withScores[i]!)!;
        expect(withScores[i + 1], `status:${s} score of ${withScores[i]}`).toBe(row[2]);
      }
    }
    expect((await r.zrange(`${base}leases`, 0, -1)).sort(), "leases").toEqual([...byStatus.running].sort());
    for (const k of await r.keys(`${base}active:*`)) {
      const wf = k.slice(`${base}active:`.length);
      expect((await r.smembers(k)).sort(), k).toEqual([...(activeWanted.get(wf) ?? [])].sort());
      activeWanted.delete(wf);
    }
    expect([...activeWanted.keys()], "running limited runs without an active set").toEqual([]);
    const lists = new Map<string, Set<string>>();
    const list = async (k: string) => {
      if (!lists.has(k)) lists.set(k, new Set(await r.lrange(k, 0, -1)));
      return lists.get(k)!;
    };
    for (const q of queuedRows) {
      const onQueue = (await list(`${base}queue:${q.queue}`)).has(q.id);
      const blocked = (await list(`${base}blocked:${q.wf}`)).has(q.id);
      expect(onQueue || blocked, `queued run ${q.id} is on its queue or blocked list`).toBe(true);
    }
    return byStatus;
  } finally {
    r.disconnect();
  }
}

/** getStats().byStatus and listRuns({ status }) agree with the hashes. */
async function checkCounts(client: Client, byStatus: Record<Status, string[]>): Promise<void> {
  const stats = await client.getStats();
  expect(stats.byStatus).toEqual(Object.fromEntries(STATUSES.map((s) => [s, byStatus[s].length])));
  for (const s of STATUSES) {
    if (byStatus[s].length > 200) continue;
    const listed = await client.listRuns({ status: s, limit: 200 });
    expect(listed.map((x) => x.id).sort(), `listRuns({ status: "${s}" })`).toEqual([...byStatus[s]].sort());
    expect(listed.every((x) => x.status === s)).toBe(true);
  }
}

// ---- ctx and steps -------------------------------------------------------------------------

const bodies = new Map<string, number>();
const bump = (k: string) => bodies.set(k, (bodies.get(k) ?? 0) + 1);
const seenRuns: Array<{ id: string; workflow: string; queue: string; attempt: number; maxAttempts: number; input: unknown; signal: boolean }> = [];

const detached = defineWorkflow(
  "audit-detached",
  { queue: "audit-q", maxAttempts: 2, retry: { backoffMs: 10 }, maxConcurrency: Infinity },
  async (ctx: WorkflowContext<{ key: string }>) => {
    seenRuns.push({ ...ctx.run, input: ctx.input, signal: ctx.signal instanceof AbortSignal && !ctx.signal.aborted });
    const { run, sleep, waitForEvent } = ctx.step;
    const a = await run.call(undefined, "a", () => {
      bump(`${ctx.input.key}:a`);
      return { n: 1 };
    });
    await sleep.call(undefined, "nap", 30);
    const ev = await waitForEvent.call(undefined, "ev", { event: "audit-go", correlationKey: ctx.input.key });
    const b = await run("b", () => {
      bump(`${ctx.input.key}:b`);
      if (ctx.run.attempt === 1) throw new Error("first attempt fails after the waits");
      return 2;
    });
    return { a, ev, b };
  },
);

const named = defineWorkflow("audit-names", { maxConcurrency: Infinity, maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx: WorkflowContext<{ names: unknown[] }>) => {
  for (const n of ctx.input.names) await ctx.step.run(n as string, () => n);
  return ctx.input.names.length;
});

const protoCalls = new Map<string, number>();
const protoNames = defineWorkflow("audit-proto-names", { maxConcurrency: Infinity }, async (ctx) => {
  const out: unknown[] = [];
  for (const n of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    out.push(await ctx.step.run(n, () => protoCalls.set(n, (protoCalls.get(n) ?? 0) + 1).get(n)));
  }
  await ctx.step.sleep("nap", 20);
  return out;
});

const badResult = defineWorkflow("audit-bad-result", { maxConcurrency: Infinity, maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx) => {
  await ctx.step.run("fine", () => 1);
  await ctx.step.run("bad", () => ({ f: () => 1 }));
  return "unreachable";
});

const badOutput = defineWorkflow("audit-bad-output", { maxConcurrency: Infinity, maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx) => {
  await ctx.step.run("fine", () => 1);
  return { s: Symbol("no") };
});

describe("hot path audit: ctx and steps", () => {
  it("step methods called detached (destructured, .call(undefined)) keep their memo across sleep, event wait and a retry; ctx.run is right per attempt", async () => {
    await env.worker({ queues: ["audit-q"] });
    const client = env.client();
    const h = await client.emitWorkflow(detached, { key: "k1" });
    await waitFor("the event wait", async () => (await client.getRunSteps(h.id)).some((s) => s.name === "ev" && s.status === "waiting"));
    await client.emitEvent("audit-go", { hello: 1 }, { correlationKey: "k1" });
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ a: { n: 1 }, ev: { hello: 1 }, b: 2 });
    expect(bodies.get("k1:a")).toBe(1);
    expect(bodies.get("k1:b")).toBe(2);
    // three executions of attempt 1 (start, after the sleep, after the event), one of attempt 2
    expect(seenRuns.map((r) => r.attempt)).toEqual([1, 1, 1, 2]);
    for (const r of seenRuns) {
      expect(r).toEqual({ id: h.id, workflow: "audit-detached", queue: "audit-q", attempt: r.attempt, maxAttempts: 2, input: { key: "k1" }, signal: true });
    }
    const steps = await client.getRunSteps(h.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["a", "succeeded"],
      ["nap", "succeeded"],
      ["ev", "succeeded"],
      ["b", "succeeded"],
    ]);
  });

  it("duplicate step names (the first repeated, a later one repeated) and empty or non-string names fail the run at once with the run and step named", async () => {
    await env.worker();
    const client = env.client();
    const cases: Array<{ names: unknown[]; message: (id: string) => string; ran: string[] }> = [
      { names: ["a", "a"], message: (id) => `run ${id} (audit-names): duplicate step name "a" (step names must be unique within a run)`, ran: ["a"] },
      { names: ["a", "b", "b"], message: (id) => `run ${id} (audit-names): duplicate step name "b" (step names must be unique within a run)`, ran: ["a", "b"] },
      { names: ["a", "b", "a"], message: (id) => `run ${id} (audit-names): duplicate step name "a" (step names must be unique within a run)`, ran: ["a", "b"] },
      { names: ["a", "b", "c", "b"], message: (id) => `run ${id} (audit-names): duplicate step name "b" (step names must be unique within a run)`, ran: ["a", "b", "c"] },
      { names: [""], message: (id) => `run ${id} (audit-names): ctx.step.run needs a non-empty step name`, ran: [] },
      { names: ["a", ""], message: (id) => `run ${id} (audit-names): ctx.step.run needs a non-empty step name`, ran: ["a"] },
      { names: [null], message: (id) => `run ${id} (audit-names): ctx.step.run needs a non-empty step name`, ran: [] },
    ];
    const handles = await Promise.all(cases.map((c) => client.emitWorkflow(named, { names: c.names })));
    for (const [i, c] of cases.entries()) {
      const h = handles[i]!;
      const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err, JSON.stringify(c.names)).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(c.message(h.id));
      const run = await client.getRun(h.id);
      expect(run?.status).toBe("failed");
      expect(run?.attempt, "no retry").toBe(1);
      expect((await client.getRunSteps(h.id)).map((s) => [s.name, s.status])).toEqual(c.ran.map((n) => [n, "succeeded"]));
    }
    // distinct names (and names equal to Object.prototype keys) are fine
    const ok = await client.emitWorkflow(named, { names: ["a", "b", "c", "constructor", "__proto__", "toString"] });
    expect(await ok.result({ timeoutMs: 10_000 })).toBe(6);
  });

  it("steps named like Object.prototype keys (__proto__, constructor...) are answered from their records after a park, not run again", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(protoNames, undefined);
    expect(await h.result({ timeoutMs: 10_000 })).toEqual([1, 1, 1, 1]);
    expect([...protoCalls]).toEqual([
      ["__proto__", 1],
      ["constructor", 1],
      ["toString", 1],
      ["hasOwnProperty", 1],
    ]);
    expect((await client.getRunSteps(h.id)).map((s) => s.name)).toEqual(["__proto__", "constructor", "toString", "hasOwnProperty", "nap"]);
  });

  it("a step result or an output that cannot be stored fails the run at once; the error names the step and the run", async () => {
    await env.worker();
    const client = env.client();
    const r1 = await client.emitWorkflow(badResult, undefined);
    const e1 = await r1.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SerializationError);
    expect((e1 as Error).message).toMatch(new RegExp(`^the result of step "bad" of run ${r1.id} \\(audit-bad-result\\) cannot be stored: `));
    expect((await client.getRun(r1.id))?.attempt).toBe(1);
    const steps = await client.getRunSteps(r1.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["fine", "succeeded"],
      ["bad", "failed"],
    ]);
    expect(steps[1]?.error?.message).toBe((e1 as Error).message);

    const r2 = await client.emitWorkflow(badOutput, undefined);
    const e2 = await r2.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(SerializationError);
    expect((e2 as Error).message).toMatch(new RegExp(`^the output of run ${r2.id} \\(audit-bad-output\\) cannot be stored: `));
    const run2 = await client.getRun(r2.id);
    expect(run2?.status).toBe("failed");
    expect(run2?.attempt).toBe(1);
    await checkCounts(client, await checkIndexes());
  });
});

// ---- claim and complete scripts ----------------------------------------------------------------

describe("hot path audit: claim and complete scripts", () => {
  it("a claim skips stale (canceled) and duplicated ids, puts foreign runs back, and a run completed twice in one batch completes once", async () => {
    const store = await openStore();
    const client = env.client();
    try {
      const known = await Promise.all(Array.from({ length: 6 }, (_, i) => rawEmit(store, "audit-known", { i })));
      const foreign = await Promise.all(Array.from({ length: 2 }, (_, i) => rawEmit(store, "audit-foreign", { i })));
      expect(await client.cancelRun(known[0]!)).toBe(true);
      expect(await client.cancelRun(known[1]!)).toBe(true);
      const r = redis();
      // duplicated queue entries (e.g. a run re-queued while a stale entry remained)
      await r.lpush(store.keys.queue("default"), known[2]!, known[3]!, known[0]!);

      const c = await store.claim("default", "w.1", 20, 60_000, ["audit-known", 0]);
      const live = known.slice(2);
      expect(c.runs.map((x) => x.id).sort()).toEqual([...live].sort());
      expect(c.deferred).toBe(2);
      expect(new Set(c.runs.map((x) => x.token)).size).toBe(c.runs.length);
      for (const x of c.runs) {
        expect(x.fields).toEqual({ workflow: "audit-known", queue: "default", attempt: "1", maxAttempts: "3", input: x.fields.input });
        expect(x.steps).toEqual({});
      }
      expect((await store.queueLength("default"))).toBe(2);
      let byStatus = await checkIndexes();
      expect(byStatus.running.sort()).toEqual([...live].sort());
      expect(byStatus.queued.sort()).toEqual([...foreign].sort());
      await checkCounts(client, byStatus);

      // a run handed back keeps its steps; claimed again it gets them (and a new token)
      const back = c.runs[0]!;
      expect(await store.recordStep(back.id, back.token, "s1", JSON.stringify({ i: 0, status: "succeeded", output: encodePayload(7, "o"), startedAt: 1, finishedAt: 2 }))).toBe(1);
      expect(await store.release(back.id, back.token)).toBe(1);
      const again = await store.claim("default", "w.2", 1, 60_000, ["audit-known", 0]);
      // the foreign runs are popped first (they are at the far end): the known one is claimed after them
      expect(again.runs.map((x) => x.id)).toEqual([back.id]);
      expect(Object.keys(again.runs[0]!.steps)).toEqual(["s1"]);
      expect(again.runs[0]!.token).not.toBe(back.token);
      const held = new Map(c.runs.map((x) => [x.id, x.token]));
      held.set(back.id, again.runs[0]!.token);

      // one batch (same event-loop turn): every run once, the first one twice, one with its old token
      const [first, ...rest] = [...held.entries()];
      const codes = await Promise.all([
        store.complete(first![0], first![1], encodePayload(1, "o")),
        store.complete(back.id, back.token, encodePayload(1, "o")),
        ...rest.map(([id, token]) => store.complete(id, token, encodePayload(1, "o"))),
        store.complete(first![0], first![1], encodePayload(2, "o")),
      ]);
      // the old token of the handed-back run is refused, as is the second completion of the first run
      expect(codes).toEqual([1, -1, ...rest.map(() => 1), -1]);
      expect((await client.getRun(first![0]))?.output).toBe(1);
      byStatus = await checkIndexes();
      expect(byStatus.succeeded.sort()).toEqual([...live].sort());
      expect(byStatus.canceled.sort()).toEqual([known[0], known[1]].sort());
      await checkCounts(client, byStatus);
    } finally {
      await store.close();
    }
  });

  it("maxConcurrency within one claim batch: runs beyond the limit are set aside, and completing, failing or canceling a run lets exactly one back", async () => {
    const store = await openStore();
    const client = env.client();
    const limits = ["audit-lim", 3];
    try {
      const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => rawEmit(store, "audit-lim", { i })));
      const c1 = await store.claim("default", "w.1", 10, 60_000, limits);
      expect(c1.runs.map((x) => x.id)).toEqual(ids.slice(0, 3));
      const r = redis();
      expect(await r.llen(store.keys.blocked("audit-lim"))).toBe(7);
      expect(await r.scard(store.keys.active("audit-lim"))).toBe(3);
      expect((await store.claim("default", "w.2", 10, 60_000, limits)).runs).toEqual([]);
      await checkCounts(client, await checkIndexes());

      // a set-aside run is canceled: it is skipped when slots free up
      expect(await client.cancelRun(ids[3]!)).toBe(true);
      // two complete in one batch, one fails: three slots free, three set-aside runs come back
      const [a, b, f] = c1.runs;
      expect(await Promise.all([store.complete(a!.id, a!.token, encodePayload(1, "o")), store.complete(b!.id, b!.token, encodePayload(1, "o"))])).toEqual([1, 1]);
      expect(await store.fail(f!.id, f!.token, JSON.stringify({ name: "Error", message: "x" }), "fail", 0)).toBe(1);
      expect(await r.scard(store.keys.active("audit-lim"))).toBe(0);
      await checkCounts(client, await checkIndexes());
      const c2 = await store.claim("default", "w.3", 10, 60_000, limits);
      expect(c2.runs.map((x) => x.id).sort()).toEqual(ids.slice(4, 7).sort());
      expect(await r.llen(store.keys.blocked("audit-lim"))).toBe(3);

      // canceling a running run frees its slot too
      expect(await client.cancelRun(c2.runs[0]!.id)).toBe(true);
      const c3 = await store.claim("default", "w.4", 10, 60_000, limits);
      expect(c3.runs.map((x) => x.id)).toEqual([ids[7]]);
      // a retry frees the slot as well
      expect(await store.fail(c2.runs[1]!.id, c2.runs[1]!.token, JSON.stringify({ name: "Error", message: "x" }), "retry", 60_000)).toBe(2);
      const c4 = await store.claim("default", "w.5", 10, 60_000, limits);
      expect(c4.runs.map((x) => x.id)).toEqual([ids[8]]);
      const byStatus = await checkIndexes();
      expect(byStatus.running.sort()).toEqual([c2.runs[2]!.id, ids[7]!, ids[8]!].sort());
      expect(byStatus.scheduled).toEqual([c2.runs[1]!.id]);
      expect(byStatus.queued).toEqual([ids[9]]);
      await checkCounts(client, byStatus);
    } finally {
      await store.close();
    }
  });

  it("claims and completions of thousands of runs in one script call (beyond Lua's unpack limit) keep every index exact", async () => {
    const store = await openStore();
    const client = env.client();
    try {
      const ids = await rawEmitMany(store, "audit-bulk", 5000);
      // 4500 claimed runs: 9000 arguments for each index write, more than unpack takes at once (~8000)
      const c1 = await store.claim("default", "w.1", 4500, 60_000, ["audit-bulk", 0]);
      const c2 = await store.claim("default", "w.2", 4500, 60_000, ["audit-bulk", 0]);
      expect(c1.runs).toHaveLength(4500);
      expect(c2.runs).toHaveLength(500);
      const claimed = [...c1.runs, ...c2.runs];
      expect(new Set(claimed.map((x) => x.id)).size).toBe(5000);
      expect(new Set(claimed.map((x) => x.id))).toEqual(new Set(ids));
      expect(new Set(claimed.map((x) => x.token)).size).toBe(5000);
      let byStatus = await checkIndexes();
      expect(byStatus.running).toHaveLength(5000);
      await checkCounts(client, byStatus);

      const codes = await completeInOneCall(store, claimed.map((x) => [x.id, x.token]));
      expect(codes).toHaveLength(5000);
      expect(codes.every((x) => x === 1)).toBe(true);
      byStatus = await checkIndexes();
      expect(byStatus.succeeded).toHaveLength(5000);
      await checkCounts(client, byStatus);

      // a limited workflow: 1500 slots, 2500 queued; the claim scans count + 50
      const lim = await rawEmitMany(store, "audit-bulk-lim", 2500);
      const limits = ["audit-bulk-lim", 1500];
      const l1 = await store.claim("default", "w.3", 2000, 60_000, limits);
      expect(l1.runs.map((x) => x.id)).toEqual(lim.slice(0, 1500));
      const r = redis();
      expect(await r.llen(store.keys.blocked("audit-bulk-lim"))).toBe(550);
      expect(await store.queueLength("default")).toBe(450);
      await checkIndexes();
      const lcodes = await completeInOneCall(store, l1.runs.map((x) => [x.id, x.token]));
      expect(lcodes.every((x) => x === 1)).toBe(true);
      expect(await r.llen(store.keys.blocked("audit-bulk-lim"))).toBe(0);
      expect(await r.scard(store.keys.active("audit-bulk-lim"))).toBe(0);
      const l2 = await store.claim("default", "w.4", 2000, 60_000, limits);
      expect(new Set(l2.runs.map((x) => x.id))).toEqual(new Set(lim.slice(1500)));
      byStatus = await checkIndexes();
      expect(byStatus.running).toHaveLength(1000);
      expect(byStatus.succeeded).toHaveLength(6500);
      await checkCounts(client, byStatus);
    } finally {
      await store.close();
    }
  });
});

// ---- workers -----------------------------------------------------------------------------------

const bulk = defineWorkflow("audit-worker-bulk", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<number>) => ctx.step.run("one", () => ctx.input * 2));

let limRunning = 0;
let limMax = 0;
/** Runs whose handler the test stopped counting (canceled: the slot is freed by the cancel itself). */
const limUncounted = new Set<number>();
const limGates = new Map<number, () => void>();
const limBodies = new Map<string, number>();
const limitedMixed = defineWorkflow(
  "audit-limited-mixed",
  { maxConcurrency: 3, maxAttempts: 2, retry: { backoffMs: 20 } },
  async (ctx: WorkflowContext<{ i: number; mode: "ok" | "fail" | "flaky" | "hold" }>) => {
    limRunning++;
    limMax = Math.max(limMax, limRunning);
    try {
      await ctx.step.run("s", () => limBodies.set(`${ctx.input.i}`, (limBodies.get(`${ctx.input.i}`) ?? 0) + 1));
      await new Promise((r) => setTimeout(r, 5));
      if (ctx.input.mode === "fail") throw new Error("fails");
      if (ctx.input.mode === "flaky" && ctx.run.attempt === 1) throw new Error("flaky");
      if (ctx.input.mode === "hold") {
        await new Promise<void>((resolve) => {
          limGates.set(ctx.input.i, resolve);
          ctx.signal.addEventListener("abort", () => resolve());
        });
      }
      return ctx.input.i;
    } finally {
      if (!limUncounted.has(ctx.input.i)) limRunning--;
    }
  },
);

const parkedCalls = new Map<string, number>();
const parkedChild = defineWorkflow("audit-parked-child", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<string>) => {
  await new Promise((r) => setTimeout(r, 20));
  return `child of ${ctx.input}`;
});
// (no in-process count of running handlers here: a parked run's handler unwinds in microtasks that
// may interleave with the start of the run its freed slot let in, though Redis ordered them)
const parkedLimited = defineWorkflow("audit-parked-limited", { maxConcurrency: 1 }, async (ctx: WorkflowContext<string>) => {
  const count = (s: string) => () => {
    parkedCalls.set(`${ctx.input}:${s}`, (parkedCalls.get(`${ctx.input}:${s}`) ?? 0) + 1);
    return s;
  };
  const a = await ctx.step.run("a", count("a"));
  await ctx.step.sleep("nap", 50);
  const ev = await ctx.step.waitForEvent<string>("ev", { event: "audit-parked-go", correlationKey: ctx.input, timeoutMs: 20_000 });
  const child = await ctx.step.runWorkflow("child", parkedChild, ctx.input);
  const b = await ctx.step.run("b", count("b"));
  return [a, ev, child, b];
});

describe("hot path audit: workers", () => {
  it("5000 queued runs with concurrency 2000: every run succeeds once and the counts stay exact", async () => {
    const client = env.client();
    const store = await openStore();
    let ids: string[];
    try {
      ids = await rawEmitMany(store, "audit-worker-bulk", 5000);
    } finally {
      await store.close();
    }
    expect(bulk.name).toBe("audit-worker-bulk");
    let ended = 0;
    const outcomes = new Map<string, number>();
    await env.worker({
      concurrency: 2000,
      leaseMs: 20_000,
      onRunEvent: (e) => {
        if (e.type !== "end") return;
        ended++;
        outcomes.set(String(e.outcome), (outcomes.get(String(e.outcome)) ?? 0) + 1);
      },
    });
    await waitFor("5000 runs to end", () => ended >= 5000, 60_000);
    expect(Object.fromEntries(outcomes)).toEqual({ succeeded: 5000 });
    await waitFor("the counts to settle", async () => (await client.getStats()).byStatus.succeeded === 5000, 10_000);
    const byStatus = await checkIndexes();
    expect(byStatus.succeeded.sort()).toEqual([...ids].sort());
    await checkCounts(client, byStatus);
    const sample = await client.getRun(ids[4321]!);
    expect(sample?.output).toBe(8642);
    expect((await client.getRunSteps(ids[4321]!)).map((s) => [s.name, s.status, s.output])).toEqual([["one", "succeeded", 8642]]);
  });

  it("maxConcurrency 3 across two workers with many runs per claim: slots come back on complete, fail, retry and cancel; runs of unknown workflows are left alone", async () => {
    const client = env.client();
    const store = await openStore();
    let foreign: string[];
    try {
      foreign = await Promise.all([rawEmit(store, "audit-nobody-knows", 1), rawEmit(store, "audit-nobody-knows", 2)]);
    } finally {
      await store.close();
    }
    limRunning = 0;
    limMax = 0;
    const modes = ["ok", "fail", "flaky", "ok", "hold", "ok", "fail", "flaky", "hold", "ok"] as const;
    const inputs = Array.from({ length: 30 }, (_, i) => ({ i, mode: modes[i % modes.length]! }));
    const handles: RunHandle[] = [];
    for (const input of inputs) handles.push(await client.emitWorkflow(limitedMixed, input));
    // two workers whose claims take up to 10 runs at once
    await Promise.all([env.worker({ concurrency: 40 }), env.worker({ concurrency: 40 })]);
    const holds = inputs.filter((x) => x.mode === "hold");
    const canceledWhileQueued = new Set<string>();
    const canceledWhileRunning = new Set<string>();
    // cancel one held run while it runs, and a queued (set-aside) run before it starts
    await waitFor("a held run", () => limGates.size > 0);
    const firstHeld = [...limGates.keys()][0]!;
    // its slot is free as soon as the cancel script ran, before its handler sees the abort
    limUncounted.add(firstHeld);
    limRunning--;
    expect(await client.cancelRun(handles[firstHeld]!.id)).toBe(true);
    canceledWhileRunning.add(handles[firstHeld]!.id);
    const lastHold = holds[holds.length - 1]!.i;
    if ((await client.getRun(handles[lastHold]!.id))?.status === "queued") {
      expect(await client.cancelRun(handles[lastHold]!.id)).toBe(true);
      canceledWhileQueued.add(handles[lastHold]!.id);
    }
    // release the other held runs as they come
    await waitFor(
      "every run to end",
      async () => {
        for (const [i, open] of limGates) {
          if (i !== firstHeld) open();
        }
        const runs = await Promise.all(handles.map((h) => client.getRun(h.id)));
        return runs.every((r) => r && ["succeeded", "failed", "canceled"].includes(r.status));
      },
      30_000,
    );
    expect(limMax).toBeLessThanOrEqual(3);
    expect(limMax).toBe(3);
    const byStatus = await checkIndexes();
    const canceled = new Set([...canceledWhileQueued, ...canceledWhileRunning]);
    const expectOk = inputs.filter((x) => (x.mode === "ok" || x.mode === "flaky" || x.mode === "hold") && !canceled.has(handles[x.i]!.id)).map((x) => handles[x.i]!.id);
    const expectFailed = inputs.filter((x) => x.mode === "fail").map((x) => handles[x.i]!.id);
    expect(byStatus.succeeded.sort()).toEqual(expectOk.sort());
    expect(byStatus.failed.sort()).toEqual(expectFailed.sort());
    expect(byStatus.canceled.sort()).toEqual([...canceled].sort());
    expect(byStatus.queued.sort()).toEqual([...foreign].sort());
    expect(byStatus.running).toEqual([]);
    await checkCounts(client, byStatus);
    const r = redis();
    expect(await r.llen(`{${env.prefix}}:blocked:audit-limited-mixed`)).toBe(0);
    expect(await r.scard(`{${env.prefix}}:active:audit-limited-mixed`)).toBe(0);
    // step bodies ran once per run, retries included (the flaky runs' step is memoised)
    for (const x of inputs) if (!canceledWhileQueued.has(handles[x.i]!.id)) expect(limBodies.get(`${x.i}`), `run ${x.i}`).toBe(1);
    for (const x of inputs.filter((y) => y.mode === "flaky")) expect((await client.getRun(handles[x.i]!.id))?.attempt).toBe(2);
  });

  it("parked runs of a maxConcurrency-1 workflow (sleep, event wait, child run) give their slot back and resume with their step memo", async () => {
    await env.worker({ concurrency: 8 });
    const client = env.client();
    const keys = ["p1", "p2", "p3"];
    const handles = await Promise.all(keys.map((k) => client.emitWorkflow(parkedLimited, k)));
    // with one slot, every run reaches its event wait only if each one parked and gave its slot to the next
    await waitFor(
      "three event waits",
      async () => {
        const all = await Promise.all(handles.map((h) => client.getRunSteps(h.id)));
        return all.every((steps) => steps.some((s) => s.name === "ev" && s.status === "waiting"));
      },
      15_000,
    );
    for (const k of keys) await client.emitEvent("audit-parked-go", `ev-${k}`, { correlationKey: k });
    const outs = await Promise.all(handles.map((h) => h.result({ timeoutMs: 15_000 })));
    expect(outs).toEqual(keys.map((k) => ["a", `ev-${k}`, `child of ${k}`, "b"]));
    const r = redis();
    expect(await r.scard(`{${env.prefix}}:active:audit-parked-limited`)).toBe(0);
    expect(await r.llen(`{${env.prefix}}:blocked:audit-parked-limited`)).toBe(0);
    for (const k of keys) {
      expect(parkedCalls.get(`${k}:a`), k).toBe(1);
      expect(parkedCalls.get(`${k}:b`), k).toBe(1);
    }
    for (const h of handles) {
      expect((await client.getRunSteps(h.id)).map((s) => [s.name, s.status])).toEqual([
        ["a", "succeeded"],
        ["nap", "succeeded"],
        ["ev", "succeeded"],
        ["child", "succeeded"],
        ["b", "succeeded"],
      ]);
      expect((await client.getRun(h.id))?.attempt).toBe(1);
    }
    await checkCounts(client, await checkIndexes());
  });
});
