/**
 * Redis is killed (SIGKILL) and restarted on the same port while runs are in flight. With AOF
 * (appendfsync always) nothing acknowledged is lost, the worker processes and the client
 * reconnect, and every run still finishes.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { Redis } from "ioredis";
import { createClient, type Client } from "./api.js";
import { startRedisServer, type RedisServerHandle } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/deadline.js";
import { killAllChildren, startWorkerProcess, testKey, uniquePrefix } from "./helpers.js";

let server: RedisServerHandle;
let redis: Redis;
let client: Client | undefined;

beforeAll(async () => {
  server = await startRedisServer({ appendonly: true });
  redis = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
});
afterEach(async () => {
  await killAllChildren();
  await client?.close();
  client = undefined;
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe("Redis restart while runs are in flight", () => {
  it("every run finishes after a SIGKILL + restart of redis-server (AOF on)", async () => {
    const prefix = uniquePrefix("restart");
    const opts = { url: server.url, prefix, workflows: ["restart-flow"], concurrency: 4, leaseMs: 1500, reaperIntervalMs: 200 };
    const workers = await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    client = createClient({ url: server.url, prefix });
    const c = client;
    const total = 40;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) ids.push((await c.emitWorkflow("restart-flow", { i })).id);

    // some runs are done, some are running, some still queued
    await waitFor("a few runs done", async () => ((await c.getStats()).byStatus.succeeded ?? 0) >= 3, 20_000, 10);
    const before = await c.getStats();
    // runs are in flight: some running (holding leases), some still queued
    expect(before.byStatus.succeeded ?? 0).toBeLessThan(total);
    expect(before.byStatus.running ?? 0).toBeGreaterThan(0);
    expect(before.byStatus.queued ?? 0).toBeGreaterThan(0);

    await server.restart();

    // a second blip, after the workers have reconnected once
    await waitFor("more progress after the restart", async () => ((await c.getStats()).byStatus.succeeded ?? 0) >= (before.byStatus.succeeded ?? 0) + 4, 30_000, 50);
    await server.restart();

    const runs = await waitFor(
      "every run to finish",
      async () => {
        const rs = await Promise.all(ids.map((id) => c.getRun(id)));
        return rs.every((r) => r && ["succeeded", "failed", "canceled"].includes(r.status)) ? rs : undefined;
      },
      45_000,
      100,
    );
    const bad = runs.filter((r) => r!.status !== "succeeded").map((r) => `${r!.id}: ${r!.status} ${JSON.stringify(r!.error)}`);
    expect(bad).toEqual([]);
    expect(runs.map((r) => (r!.output as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const r of runs) {
      const steps = await c.getRunSteps(r!.id);
      expect(steps.map((s) => s.name)).toEqual(["one", "two", "three"]);
    }
    // every step ran at least once per run (at-least-once: a step interrupted by the restart may run twice)
    for (const s of ["one", "two", "three"]) expect(Number(await redis.get(testKey(prefix, `calls-${s}`)))).toBeGreaterThanOrEqual(total);
    // the workers are still alive and stop cleanly
    for (const w of workers) expect((await w.signal("SIGTERM")).code).toBe(0);
  });
});
