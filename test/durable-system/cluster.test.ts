/**
 * The durable runtime on a real Redis Cluster (three masters started by the test): a worker and
 * a client on a `redis-cluster://` URL run workflows with steps, sleeps, idempotent emits,
 * cancellation (pub/sub) and reads; the built CLI emits and waits with DURUN_REDIS_URL; every key
 * of a deployment lands in one slot; bad and unreachable cluster URLs fail clearly.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { CanceledError, ConnectionError, createClient, defineWorkflow, startWorker, type Client, type Worker } from "./api.js";
import { UsageError } from "../../src/index.js";
import { startRedisCluster, type RedisClusterHandle } from "../helpers/redis-cluster.js";
import { freePorts, startRedisServer } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/deadline.js";
import { repoRoot, uniquePrefix } from "./helpers.js";
import { runCli } from "../cli/helpers.js";

const cli = join(repoRoot, "dist", "cli", "main.js");
let cluster: RedisClusterHandle;
let raw: Cluster;
const open: Array<Worker | Client> = [];

const entered = new Set<string>();
const aborted = new Set<string>();

defineWorkflow("cluster-steps", { maxConcurrency: 8 }, async (ctx) => {
  const { x } = ctx.input as { x: number };
  const doubled = await ctx.step.run("double", () => x * 2);
  const plusOne = await ctx.step.run("plus-one", () => doubled + 1);
  return { doubled, plusOne };
});

defineWorkflow("cluster-sleeper", {}, async (ctx) => {
  const t0 = await ctx.step.run("before", () => Date.now());
  await ctx.step.sleep("nap", 300);
  const t1 = await ctx.step.run("after", () => Date.now());
  return { slept: t1 - t0 };
});

defineWorkflow("cluster-cancellable", { maxAttempts: 1 }, async (ctx) => {
  await ctx.step.run("long", ({ signal }) => {
    entered.add(ctx.run.id);
    return new Promise((_, reject) => {
      signal.addEventListener("abort", () => {
        aborted.add(ctx.run.id);
        reject(signal.reason as Error);
      });
    });
  });
  await ctx.step.run("after", () => "never");
});

async function worker(prefix: string, extra: { leaseMs?: number } = {}): Promise<Worker> {
  const w = await startWorker({ app: "cluster-test", url: cluster.url, prefix, concurrency: 8, ...extra });
  open.push(w);
  return w;
}

function client(prefix: string): Client {
  const c = createClient({ url: cluster.url, prefix });
  open.push(c);
  return c;
}

/** Every key of a deployment, with the master that holds it. */
async function keysOf(prefix: string): Promise<Array<{ key: string; node: string }>> {
  const out: Array<{ key: string; node: string }> = [];
  for (const node of raw.nodes("master")) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `{${prefix}}:*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) out.push({ key, node: `${node.options.host}:${node.options.port}` });
    } while (cursor !== "0");
  }
  return out;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  raw = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })));
  raw.on("error", () => {}); // while the outage test has the cluster down
  await waitFor("the test's own cluster connection", () => raw.status === "ready", 10_000);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => ("stop" in o ? o.stop() : o.close())));
});
afterAll(async () => {
  raw?.disconnect();
  await cluster?.stop();
});

describe("durable workflows on a Redis Cluster", () => {
  it("runs workflows with steps and sleeps to completion; idempotent emit; reads; every key in one slot", async () => {
    const prefix = uniquePrefix("cluster");
    await worker(prefix);
    const c = client(prefix);

    const handles = await Promise.all(Array.from({ length: 20 }, (_, i) => c.emitWorkflow("cluster-steps", { x: i })));
    const outputs = await Promise.all(handles.map((h) => h.result({ timeoutMs: 10_000 })));
    expect(outputs).toEqual(Array.from({ length: 20 }, (_, i) => ({ doubled: 2 * i, plusOne: 2 * i + 1 })));

    // idempotency: the same key gives the same run
    const first = await c.emitWorkflow("cluster-steps", { x: 100 }, { idempotencyKey: "k1" });
    const again = await c.emitWorkflow("cluster-steps", { x: 100 }, { idempotencyKey: "k1" });
    expect(again.id).toBe(first.id);
    expect(await first.result({ timeoutMs: 10_000 })).toEqual({ doubled: 200, plusOne: 201 });

    // a parked run (sleep) resumes
    const sleeper = await c.emitWorkflow("cluster-sleeper", {});
    await waitFor("the sleeper to park", async () => (await c.getRun(sleeper.id))?.status === "scheduled", 5000);
    const slept = (await sleeper.result({ timeoutMs: 10_000 })) as { slept: number };
    expect(slept.slept).toBeGreaterThanOrEqual(280);

    expect((await c.getRunSteps(first.id)).map((s) => [s.name, s.status])).toEqual([
      ["double", "succeeded"],
      ["plus-one", "succeeded"],
    ]);
    expect((await c.getRunSteps(sleeper.id)).map((s) => s.name)).toEqual(["before", "nap", "after"]);
    expect(await c.listRuns({ workflow: "cluster-steps", limit: 100 })).toHaveLength(21);
    expect((await c.listRuns({ status: "succeeded", limit: 100 })).length).toBe(22);
    const stats = await c.getStats();
    expect(stats.byStatus.succeeded).toBe(22);
    expect(stats.byStatus.running + stats.byStatus.queued + stats.byStatus.scheduled).toBe(0);
    await c.emitEvent("cluster-ping", { n: 1 });
    expect((await c.listWorkflows()).map((w) => w.name)).toEqual(expect.arrayContaining(["cluster-steps", "cluster-sleeper", "cluster-cancellable"]));

    // the keys of the deployment (runs, steps, indexes, idempotency, events, workflows...) share one slot
    const keys = await keysOf(prefix);
    expect(keys.length).toBeGreaterThan(50);
    for (const kind of ["run:", "steps:", "idem:", "event:", "workflows", "runs"]) expect(keys.some((k) => k.key.startsWith(`{${prefix}}:${kind}`)), kind).toBe(true);
    const slot = Number(await raw.cluster("KEYSLOT", `{${prefix}}:`));
    const slots = new Set(await Promise.all(keys.map(async (k) => Number(await raw.cluster("KEYSLOT", k.key)))));
    expect([...slots]).toEqual([slot]);
    expect(new Set(keys.map((k) => k.node)).size).toBe(1);
  });

  it("cancelRun of a running run reaches its worker through pub/sub", async () => {
    const prefix = uniquePrefix("cluster-cancel");
    // a long lease: its renewals (every 10 s) are too rare to explain a quick abort
    await worker(prefix, { leaseMs: 30_000 });
    const c = client(prefix);
    const h = await c.emitWorkflow("cluster-cancellable", {});
    await waitFor("the step to start", () => entered.has(h.id), 5000, 10);
    const t0 = Date.now();
    expect(await c.cancelRun(h.id, { reason: "test" })).toBe(true);
    await waitFor("the step's signal to be aborted", () => aborted.has(h.id), 5000, 10);
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(h.result({ timeoutMs: 5000 })).rejects.toBeInstanceOf(CanceledError);
    expect((await c.getRun(h.id))?.status).toBe("canceled");
    expect((await c.getRunSteps(h.id)).map((s) => s.name)).not.toContain("after");
  });

  it("durun emit --wait with DURUN_REDIS_URL=redis-cluster://...", async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
    await worker("durun"); // the CLI's prefix
    const r = await runCli(["emit", "cluster-steps", "--input", '{"x":21}', "--wait"], repoRoot, { DURUN_REDIS_URL: cluster.url });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ doubled: 42, plusOne: 43 });
    expect(r.stderr).toMatch(/run \S+ emitted/);
  });

  it("a redis:// URL of a node that does not hold the deployment's slot is a UsageError naming redis-cluster://", async () => {
    const prefix = uniquePrefix("cluster-wrong-url");
    const slot = Number(await raw.cluster("KEYSLOT", `{${prefix}}:`));
    const slots = await raw.cluster("SLOTS");
    const owner = slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    const other = cluster.ports.find((p) => p !== owner)!;
    const c = createClient({ url: `redis://127.0.0.1:${other}`, prefix });
    open.push(c);
    const err = await c.getRun("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/is a node of a Redis Cluster \(it answered "MOVED \d+ 127\.0\.0\.1:\d+"\): connect with redis-cluster:\/\//);
  });
});

describe("cluster URLs that cannot work", () => {
  it("an unreachable cluster → ConnectionError naming the URL within a bounded time", async () => {
    const [a, b] = await freePorts(2);
    const url = `redis-cluster://127.0.0.1:${a},127.0.0.1:${b}`;
    const t0 = Date.now();
    const err = await startWorker({ app: "x", url, connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    const c = createClient({ url, connectTimeoutMs: 1000 });
    const err2 = await c.getRun("x").catch((e: unknown) => e);
    await c.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    for (const e of [err, err2]) {
      expect(e).toBeInstanceOf(ConnectionError);
      expect((e as Error).message).toBe(`cannot connect to Redis Cluster at ${url} (ECONNREFUSED): are its nodes running there, with cluster-enabled yes and cluster_state:ok, and is the URL right?`);
    }
  });

  it("a cluster URL naming a plain redis-server says it is not in cluster mode", async () => {
    const plain = await startRedisServer();
    try {
      const url = `redis-cluster://127.0.0.1:${plain.port}`;
      const c = createClient({ url, connectTimeoutMs: 1000 });
      const err = await c.getRun("x").catch((e: unknown) => e);
      await c.close();
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toContain(`cannot connect to Redis Cluster at ${url} (not in cluster mode (cluster-enabled no): for a single Redis server use redis://)`);
    } finally {
      await plain.stop();
    }
  });
});

// last: it restarts the cluster (its data is gone after, the nodes keep no files)
describe("a cluster outage", () => {
  it("client calls fail fast while no node answers; the worker waits, then runs new runs and gets cancel notices again", async () => {
    const prefix = uniquePrefix("cluster-outage");
    await worker(prefix, { leaseMs: 30_000 });
    const c = createClient({ url: cluster.url, prefix, connectTimeoutMs: 1000 });
    open.push(c);
    expect(await (await c.emitWorkflow("cluster-steps", { x: 1 })).result({ timeoutMs: 10_000 })).toEqual({ doubled: 2, plusOne: 3 });

    await cluster.kill();
    const t0 = Date.now();
    const err = await c.getRun("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/^lost the connection to Redis Cluster at redis-cluster:\/\/127\.0\.0\.1:\d+,/);
    expect(Date.now() - t0).toBeLessThan(4000);

    await cluster.start();
    // the client and the worker reconnect by themselves (the worker publishes its workflows again)
    const h = await waitFor("an emit to go through", () => c.emitWorkflow("cluster-steps", { x: 2 }).catch(() => undefined), 15_000, 100);
    expect(await h.result({ timeoutMs: 15_000 })).toEqual({ doubled: 4, plusOne: 5 });
    // the worker's subscriber is back on a node: cancel notices reach it
    const k = await c.emitWorkflow("cluster-cancellable", {});
    await waitFor("the step to start", () => entered.has(k.id), 10_000, 10);
    expect(await c.cancelRun(k.id)).toBe(true);
    await waitFor("the step's signal to be aborted", () => aborted.has(k.id), 5000, 10);
    await expect(k.result({ timeoutMs: 5000 })).rejects.toBeInstanceOf(CanceledError);
  });
});
