/**
 * Concurrency across processes: 50 concurrent emits with one idempotency key make one run, and a
 * workflow's maxConcurrency holds across two worker processes.
 */
import { describe, it, expect } from "vitest";
import { createClient, type Client } from "./api.js";
import { waitFor } from "../helpers/deadline.js";
import { spawnNode, fixturesDir, startWorkerProcess, testKey, uniquePrefix, useRedisSuite } from "./helpers.js";
import { join } from "node:path";

const env = useRedisSuite();

function newClient(prefix: string): Client {
  const c = createClient({ url: env.server.url, prefix });
  env.clients.push(c);
  return c;
}

describe("idempotent emit under contention", () => {
  it("50 concurrent emits with one key, from 5 clients and 2 other processes, make one run", async () => {
    const prefix = uniquePrefix("idem");
    await startWorkerProcess({ url: env.server.url, prefix, workflows: ["idem"] });
    const local = Array.from({ length: 5 }, () => newClient(prefix));
    // Two more processes emit at the same moment (25 each would be the whole 50: here 2 x 15).
    const emitters = [0, 1].map(() =>
      spawnNode(join(fixturesDir, "emit-many.ts"), [], { FIX_URL: env.server.url, FIX_PREFIX: prefix, FIX_WORKFLOW: "idem", FIX_KEY: "same-key", FIX_COUNT: "15", FIX_GATE: testKey(prefix, "emit-go") }),
    );
    await Promise.all(emitters.map((e) => e.waitForLine("armed")));
    await env.redis.set(testKey(prefix, "emit-go"), "1");
    const localIds = await Promise.all(
      Array.from({ length: 20 }, (_, i) => local[i % local.length]!.emitWorkflow("idem", { n: i }, { idempotencyKey: "same-key" }).then((h) => h.id)),
    );
    const remote = await Promise.all(
      emitters.map(async (e) => {
        const line = await e.waitForLine(/^ids /);
        return JSON.parse(line.slice(4)) as string[];
      }),
    );
    const ids = [...localIds, ...remote.flat()];
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(1);

    const c = local[0]!;
    const run = await waitFor("the run to finish", async () => {
      const r = await c.getRun(ids[0]!);
      return r?.status === "succeeded" ? r : undefined;
    });
    expect((await c.listRuns({ workflow: "idem", limit: 100 })).map((r) => r.id)).toEqual([ids[0]]);
    expect(await env.redis.get(testKey(prefix, "idem-calls"))).toBe("1");
    expect((run.output as { calls: number }).calls).toBe(1);
    // the key still returns the same (finished) run
    expect((await c.emitWorkflow("idem", { n: 99 }, { idempotencyKey: "same-key" })).id).toBe(ids[0]);
    // a different key is a different run
    const other = await c.emitWorkflow("idem", { n: 100 }, { idempotencyKey: "other-key" });
    expect(other.id).not.toBe(ids[0]);
    await other.result({ timeoutMs: 10_000 });
  });
});

describe("maxConcurrency across worker processes", () => {
  it("never runs more than maxConcurrency (2) runs at once over three processes, and reaches it", async () => {
    const prefix = uniquePrefix("limited");
    const k = (n: string) => testKey(prefix, n);
    // three processes with one slot each: 3 slots for a limit of 2, and reaching 2 takes two
    // processes, so the limit is enforced across processes (one process with several slots may
    // legitimately take every run)
    const opts = { url: env.server.url, prefix, workflows: ["limited"], concurrency: 1 };
    await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts), startWorkerProcess(opts)]);
    const c = newClient(prefix);
    const handles = await Promise.all(Array.from({ length: 10 }, () => c.emitWorkflow("limited", {})));
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));

    const observed = (await env.redis.lrange(k("observed"), 0, -1)).map(Number);
    const spansRaw = await env.redis.lrange(k("spans"), 0, -1);
    const detail = `observed ${JSON.stringify(observed)}; spans ${spansRaw.join(" ")}`;
    expect(observed, detail).toHaveLength(10);
    expect(Math.max(...observed), detail).toBeLessThanOrEqual(2);
    expect(Math.max(...observed), detail).toBe(2);

    // The same from the timestamps: sweep the start/end events.
    const spans = (await env.redis.lrange(k("spans"), 0, -1)).map((s) => JSON.parse(s) as { id: string; pid: number; start?: number; end?: number });
    const events = spans.map((s) => (s.start !== undefined ? { t: s.start, d: 1 } : { t: s.end!, d: -1 })).sort((a, b) => a.t - b.t || a.d - b.d);
    let cur = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (cur += e.d));
    expect(max, detail).toBeLessThanOrEqual(2);
    // at least two processes took part
    expect(new Set(spans.map((s) => s.pid)).size, detail).toBeGreaterThanOrEqual(2);
    const runs = await c.listRuns({ workflow: "limited", limit: 50 });
    expect(runs).toHaveLength(10);
    expect(runs.every((r) => r.status === "succeeded")).toBe(true);
  });
});
