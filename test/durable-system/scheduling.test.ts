/**
 * Time-based scheduling is data in Redis, not timers in a process: a delayed run waits for its
 * time even when emitted while no worker runs, and a retry scheduled with backoff is executed by
 * another worker after the one that ran the failed attempt was killed.
 */
import { describe, it, expect } from "vitest";
import { Redis } from "ioredis";
import { createClient } from "./api.js";
import { waitFor } from "../helpers/deadline.js";
import { startWorkerProcess, testKey, uniquePrefix, useRedisSuite } from "./helpers.js";

const env = useRedisSuite();

describe("delayed runs and retries across processes", () => {
  it("a delayed run emitted while no worker runs starts at its time, on a worker started later", async () => {
    const prefix = uniquePrefix("delayed");
    // a worker publishes the workflow's metadata, then goes away
    const first = await startWorkerProcess({ url: env.server.url, prefix, workflows: ["delayed"] });
    await first.signal("SIGTERM");
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);
    const runAt = new Date(Date.now() + 2500);
    const h = await client.emitWorkflow("delayed", {}, { runAt });
    expect((await client.getRun(h.id))?.status).toBe("scheduled");

    const second = await startWorkerProcess({ url: env.server.url, prefix, workflows: ["delayed"], reaperIntervalMs: 100 });
    const out = (await h.result({ timeoutMs: 10_000 })) as { startedAt: number; by: number };
    expect(out.by).toBe(second.pid);
    expect(out.startedAt).toBeGreaterThanOrEqual(runAt.getTime());
    expect(out.startedAt - runAt.getTime()).toBeLessThan(2000);
  });

  it("a retry scheduled with backoff runs on another worker after the first one was killed", async () => {
    const prefix = uniquePrefix("flaky");
    const k = (n: string) => testKey(prefix, n);
    const opts = { url: env.server.url, prefix, workflows: ["flaky"], reaperIntervalMs: 100 };
    const first = await startWorkerProcess(opts);
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);
    const h = await client.emitWorkflow("flaky", {});
    await waitFor("the first attempt to fail and the retry to be scheduled", async () => {
      const r = await client.getRun(h.id);
      return r?.status === "scheduled" && r.attempt === 2;
    });
    await first.kill();
    const second = await startWorkerProcess(opts);
    const out = await h.result({ timeoutMs: 10_000 });
    expect(out).toEqual({ once: 1, attempt: 2, by: second.pid });
    expect(await env.redis.lrange(k("flaky-attempts"), 0, -1)).toEqual([`1:${first.pid}`, `2:${second.pid}`]);
    const steps = await client.getRunSteps(h.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["once", "succeeded"],
      ["flaky", "succeeded"],
    ]);
    const run = await client.getRun(h.id);
    expect(run?.attempt).toBe(2);
    expect(run?.status).toBe("succeeded");
  });
});
