/**
 * Behaviours that span processes: cancellation reaches the worker process that runs the step
 * (and the children of a cancelled parent); sleeps and event waits are data in Redis, so they
 * survive the death of the worker that parked them; a stopping worker hands its runs back at once.
 */
import { describe, it, expect } from "vitest";
import { Redis } from "ioredis";
import { createClient } from "./api.js";
import { waitFor } from "../helpers/deadline.js";
import { startWorkerProcess, testKey, uniquePrefix, useRedisSuite } from "./helpers.js";

const env = useRedisSuite();

function setup(name: string) {
  const prefix = uniquePrefix(name);
  const client = createClient({ url: env.server.url, prefix });
  env.clients.push(client);
  const k = (n: string) => testKey(prefix, n);
  const status = async (id: string) => (await client.getRun(id))?.status;
  return { prefix, client, k, status };
}

describe("cancellation across processes", () => {
  it("cancelRun aborts the running step's signal in the worker process; no later step starts", async () => {
    const { prefix, client, k, status } = setup("cancel");
    // a long lease: renewals (every leaseMs / 3) are too rare to explain a quick abort
    const worker = await startWorkerProcess({ url: env.server.url, prefix, workflows: ["cancellable"], leaseMs: 12_000 });
    const h = await client.emitWorkflow("cancellable", {});
    await waitFor("step long to start", async () => (await env.redis.lrange(k("long-entered"), 0, -1)).includes(h.id));

    const t0 = Date.now();
    expect(await client.cancelRun(h.id, { reason: "test" })).toBe(true);
    await waitFor("the step's signal to be aborted in the worker", async () => (await env.redis.lrange(k("long-aborted"), 0, -1)).includes(h.id), 5000, 10);
    // the pub/sub notice is immediate; the lease renewal (every 4 s here) would be slower
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await env.redis.lrange(k("ctx-aborted"), 0, -1)).toContain(h.id);
    await worker.waitForLine(`event end ${h.id}`, 5000);

    expect(await status(h.id)).toBe("canceled");
    await expect(h.result({ timeoutMs: 2000 })).rejects.toMatchObject({ name: "CanceledError" });
    expect(await env.redis.get(k("after-calls"))).toBeNull();
    const steps = await client.getRunSteps(h.id);
    expect(steps.map((s) => s.name)).not.toContain("after");
    expect(await client.cancelRun(h.id)).toBe(false); // already finished
  });

  it("cancelling a parent cancels its running child, which runs in another worker process", async () => {
    const { prefix, client, k, status } = setup("cancel-tree");
    const opts = { url: env.server.url, prefix, workflows: ["cancellable"], leaseMs: 3000 };
    await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    const parent = await client.emitWorkflow("cancel-parent", {});
    const childId = await waitFor("the child's step to start", async () => (await env.redis.lrange(k("long-entered"), 0, -1))[0]);
    const child = await client.getRun(childId);
    expect(child?.parentRunId).toBe(parent.id);
    await waitFor("the parent to park while its child runs", async () => (await status(parent.id)) === "scheduled", 5000);

    expect(await client.cancelRun(parent.id)).toBe(true);
    await waitFor("the child's step signal to be aborted", async () => (await env.redis.lrange(k("long-aborted"), 0, -1)).includes(childId), 5000, 10);
    await waitFor("both runs canceled", async () => (await status(parent.id)) === "canceled" && (await status(childId)) === "canceled", 5000);
    expect(await env.redis.get(k("after-calls"))).toBeNull();
    expect(await env.redis.get(k("parent-after"))).toBeNull();
  });
});

describe("parked runs survive their worker", () => {
  it("a sleep holds no slot, and a run whose worker was SIGKILLed mid-sleep wakes on another worker", async () => {
    const { prefix, client, k, status } = setup("sleep");
    const opts = { url: env.server.url, prefix, workflows: ["sleeper"], concurrency: 1 };
    const first = await startWorkerProcess(opts);
    // three sleepers on a worker with ONE slot: all three reach their sleep, so none holds the slot
    const hs = await Promise.all([0, 1, 2].map(() => client.emitWorkflow("sleeper", { ms: 1500 })));
    await waitFor("all three asleep", async () => (await Promise.all(hs.map((h) => status(h.id)))).every((s) => s === "scheduled"), 5000);
    expect(await env.redis.get(k("a-calls"))).toBe("3");

    await first.kill();
    const second = await startWorkerProcess(opts);
    const outs = await Promise.all(hs.map((h) => h.result({ timeoutMs: 15_000 }) as Promise<{ slept: number; finishedBy: number }>));
    for (const o of outs) {
      expect(o.finishedBy).toBe(second.pid);
      expect(o.slept).toBeGreaterThanOrEqual(1400); // the nap was not cut short by the restart
    }
    expect(await env.redis.get(k("a-calls"))).toBe("3"); // step a was not executed again
    expect(await env.redis.get(k("b-calls"))).toBe("3");
    const steps = await client.getRunSteps(hs[0]!.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["a", "succeeded"],
      ["nap", "succeeded"],
      ["b", "succeeded"],
    ]);
  });

  it("an event emitted while no worker is alive resumes the waiting run (matched by correlation key)", async () => {
    const { prefix, client, k, status } = setup("event");
    const opts = { url: env.server.url, prefix, workflows: ["waiter"] };
    const first = await startWorkerProcess(opts);
    const [h1, h2] = await Promise.all([client.emitWorkflow("waiter", { key: "order-1" }), client.emitWorkflow("waiter", { key: "order-2" })]);
    await waitFor("both waiting", async () => (await status(h1.id)) === "scheduled" && (await status(h2.id)) === "scheduled", 5000);
    await first.kill();

    await client.emitEvent("approved", { by: "alice" }, { correlationKey: "order-1" });
    const second = await startWorkerProcess(opts);
    expect(await h1.result({ timeoutMs: 10_000 })).toEqual({ approvedBy: "alice", finishedBy: second.pid });
    expect(await status(h2.id)).toBe("scheduled"); // a different correlation key: still waiting
    await client.emitEvent("approved", { by: "bob" }, { correlationKey: "order-2" });
    expect(await h2.result({ timeoutMs: 10_000 })).toMatchObject({ approvedBy: "bob" });
    expect(await env.redis.get(k("a-calls"))).toBe("2");
  });
});

describe("child runs across processes", () => {
  it("a parent whose worker died while it waited for its child resumes on another worker when the child ends", async () => {
    const { prefix, client, k, status } = setup("parent-child");
    const opts = { url: env.server.url, prefix, workflows: ["parent-child"], leaseMs: 1000, reaperIntervalMs: 100 };
    const workers = await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    const parent = await client.emitWorkflow("parent", {});
    const starter = await Promise.race(workers.map((w) => w.waitForLine(`event start ${parent.id}`, 10_000).then(() => w)));
    await waitFor("the child to run and the parent to park", async () => (await env.redis.llen(k("child-entered"))) >= 1 && (await status(parent.id)) === "scheduled");
    await starter.kill(); // the parent's worker (maybe the child's too)
    const survivor = workers.find((w) => w !== starter)!;
    await env.redis.set(k("go"), "1");
    const out = (await parent.result({ timeoutMs: 15_000 })) as { childBy: number; finishedBy: number };
    expect(out.finishedBy).toBe(survivor.pid);
    expect(await env.redis.get(k("before-calls"))).toBe("1");
    const steps = await client.getRunSteps(parent.id);
    const child = steps.find((s) => s.name === "child");
    expect(child?.status).toBe("succeeded");
    // one child run only, even if it had to run again
    const children = (await client.listRuns({ workflow: "gated-child", limit: 10 })).map((r) => r.id);
    expect(children).toHaveLength(1);
    expect(child?.childRunId ?? children[0]).toBe(children[0]);
  });
});

describe("graceful stop", () => {
  it("a stopping worker hands back the run it cannot finish: another worker takes it without waiting for the lease", async () => {
    const { prefix, client, k } = setup("handback");
    // a long lease: if the run were not handed back, the takeover would take ≥ 8 s
    const opts = { url: env.server.url, prefix, workflows: ["crash-after-a"], leaseMs: 8000, shutdownTimeoutMs: 200 };
    const first = await startWorkerProcess(opts);
    const h = await client.emitWorkflow("crash-after-a", {});
    await waitFor("step b running", async () => (await env.redis.lrange(k("b-entered"), 0, -1)).includes(String(first.pid)));

    const exit = await first.signal("SIGTERM", 5000);
    expect(exit, first.output()).toEqual({ code: 0, signal: null });
    expect((await client.getRun(h.id))?.status).toBe("queued");

    await env.redis.set(k("go"), "1");
    const t0 = Date.now();
    const second = await startWorkerProcess(opts);
    const out = (await h.result({ timeoutMs: 7000 })) as { a: number; finishedBy: number };
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(out.finishedBy).toBe(second.pid);
    expect(await env.redis.get(k("a-calls"))).toBe("1");
  });
});
