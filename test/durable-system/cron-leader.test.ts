/**
 * Two worker processes register the same every-second cron workflow. Only the cron leader emits
 * ticks, and each tick becomes at most one run, even while both processes run for several ticks.
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
  server = await startRedisServer();
  redis = new Redis(server.url);
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

const ms = (d: Date | number | string | null | undefined) => (d == null ? NaN : new Date(d).getTime());

/**
 * The tick each cron run was emitted for, read off its idempotency key
 * (`cron:<workflow>:<schedule id>:<tick ms>`): exact, unlike creation times on a busy machine.
 */
function tickTimes(runs: ReadonlyArray<{ id: string; idempotencyKey?: string | undefined }>): number[] {
  return runs.map((r) => {
    const m = /^cron:cron-tick:every-second:(\d+)$/.exec(r.idempotencyKey ?? "");
    if (!m) throw new Error(`run ${r.id} has no cron idempotency key: ${JSON.stringify(r.idempotencyKey)}`);
    return Number(m[1]);
  });
}

describe("cron with two worker processes", () => {
  it("emits exactly one run per tick", async () => {
    const prefix = uniquePrefix("cron");
    const opts = { url: server.url, prefix, workflows: ["cron-tick"], leaseMs: 1000, reaperIntervalMs: 200 };
    const workers = await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    client = createClient({ url: server.url, prefix });
    const c = client;

    // Let both processes run side by side for a little over 4 ticks after the first one.
    await waitFor("a first cron run", async () => (await redis.llen(testKey(prefix, "cron-runs"))) >= 1, 10_000);
    const firstSeen = Date.now();
    await waitFor("4 more ticks", async () => Date.now() - firstSeen > 4300, 10_000, 100);
    await Promise.all(workers.map((w) => w.signal("SIGTERM")));

    const runs = await c.listRuns({ workflow: "cron-tick", limit: 100 });
    // ≥ 4 ticks in ~4.3 s (a tick may be skipped while the previous run still holds the only slot)
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.length).toBeLessThanOrEqual(8);
    const ticks = tickTimes(runs);
    expect(new Set(ticks).size, `ticks ${JSON.stringify(ticks)}`).toBe(ticks.length);
    for (const t of ticks) expect(t % 1000).toBe(0); // every-second schedule: whole seconds

    // Every run that was emitted ran once (no duplicate executions), on either process.
    const executed = (await redis.lrange(testKey(prefix, "cron-runs"), 0, -1)).map((s) => JSON.parse(s) as { id: string; pid: number });
    const finishedRuns = runs.filter((r) => r.status === "succeeded").map((r) => r.id);
    const executedIds = executed.map((e) => e.id);
    expect(new Set(executedIds).size).toBe(executedIds.length);
    for (const id of finishedRuns) expect(executedIds).toContain(id);
  });
});

describe("cron registered by two different apps", () => {
  it("still makes at most one run per tick (each tick is emitted with its own idempotency key)", async () => {
    const prefix = uniquePrefix("cron-apps");
    const opts = { url: server.url, prefix, workflows: ["cron-tick"], leaseMs: 1000, reaperIntervalMs: 200 };
    const workers = await Promise.all([startWorkerProcess({ ...opts, app: "app-a" }), startWorkerProcess({ ...opts, app: "app-b" })]);
    client = createClient({ url: server.url, prefix });
    const c = client;
    await waitFor("a first cron run", async () => (await redis.llen(testKey(prefix, "cron-runs"))) >= 1, 10_000);
    const firstSeen = Date.now();
    await waitFor("3 more ticks", async () => Date.now() - firstSeen > 3300, 10_000, 100);
    await Promise.all(workers.map((w) => w.signal("SIGTERM")));
    const runs = await c.listRuns({ workflow: "cron-tick", limit: 100 });
    expect(runs.length).toBeGreaterThanOrEqual(3);
    const ticks = tickTimes(runs);
    expect(new Set(ticks).size, `ticks ${JSON.stringify(ticks)}`).toBe(ticks.length);
  });
});

describe("cron leadership", () => {
  it("keeps ticking when the leader is SIGKILLed (another worker takes the leadership over)", async () => {
    const prefix = uniquePrefix("cron-takeover");
    const opts = { url: server.url, prefix, workflows: ["cron-tick"], leaseMs: 1000, reaperIntervalMs: 200 };
    let [a, b] = await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    client = createClient({ url: server.url, prefix });
    const c = client;
    const runsSince = async (t: number) => (await c.listRuns({ workflow: "cron-tick", limit: 100 })).filter((r) => ms(r.createdAt) > t).length;
    await waitFor("a first cron run", async () => (await runsSince(0)) >= 1, 10_000);

    // Kill each process in turn: whichever was the leader, ticks resume within the leader lease (3 s).
    for (let round = 0; round < 2; round++) {
      const victim = round === 0 ? a : b;
      await victim.kill();
      const killedAt = Date.now();
      await waitFor(`ticks after killing process ${round + 1}`, async () => (await runsSince(killedAt)) >= 2, 8000, 100);
      if (round === 0) a = await startWorkerProcess(opts);
    }
    const runs = await c.listRuns({ workflow: "cron-tick", limit: 100 });
    const ticks = tickTimes(runs);
    expect(new Set(ticks).size, `ticks ${JSON.stringify(ticks)}`).toBe(ticks.length);
  });
});
