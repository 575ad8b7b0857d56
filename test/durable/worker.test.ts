import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { RedisStore } from "../../src/durable/redis/store.js";
import { defineWorkflow, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const calls: string[] = [];
const gates = new Map<string, () => void>();

const twoSteps = defineWorkflow("worker-two-steps", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string; holdMs?: number }>) => {
  await ctx.step.run("a", () => calls.push(`${ctx.input.key}:a`));
  await ctx.step.run("b", async ({ signal }) => {
    const first = !calls.includes(`${ctx.input.key}:b`);
    calls.push(`${ctx.input.key}:b`);
    if (ctx.input.holdMs && first) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ctx.input.holdMs);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  });
  return "done";
});

const onQueue = defineWorkflow("worker-queued", { queue: "emails", maxConcurrency: Infinity }, async (ctx: WorkflowContext<string>) => `sent ${ctx.input}`);

describe("durable: worker leases, reaper, queues, graceful stop", () => {
  const env = useDurableEnv();

  it("a run whose worker died (lease expired) is reaped back to its queue and finished by another worker", async () => {
    const client = env.client();
    const h = await client.emitWorkflow(twoSteps, { key: "dead" });
    // a "worker" claims the run and dies at once: nothing renews its 300 ms lease
    const store = await RedisStore.connect({ url: env.url, prefix: env.prefix, connectTimeoutMs: 2000, waitThroughOutages: false });
    const claimed = await store.claim("default", "ghost", 1, 300, ["worker-two-steps", 0]);
    expect(claimed.runs.map((r) => r.id)).toEqual([h.id]);
    expect((await client.getRun(h.id))?.status).toBe("running");
    await store.close();
    await env.worker();
    expect(await h.result({ timeoutMs: 10_000 })).toBe("done");
    expect((await client.getRun(h.id))?.attempt).toBe(1);
  });

  it("leases are renewed: a step longer than leaseMs is not reaped or run twice", async () => {
    await env.worker({ leaseMs: 900 });
    await env.worker({ leaseMs: 900, app: "other" });
    const client = env.client();
    const h = await client.emitWorkflow(twoSteps, { key: "long", holdMs: 2500 });
    expect(await h.result({ timeoutMs: 10_000 })).toBe("done");
    expect(calls.filter((c) => c === "long:b")).toHaveLength(1);
  });

  it("stop() hands back a run it cannot finish in time; another worker resumes it without redoing finished steps", async () => {
    const w1 = await env.worker({ shutdownTimeoutMs: 100 });
    const client = env.client();
    const h = await client.emitWorkflow(twoSteps, { key: "handoff", holdMs: 3000 });
    await waitFor("step b to start", () => calls.includes("handoff:b"));
    await w1.stop();
    expect((await client.getRun(h.id))?.status).toBe("queued");
    await env.worker();
    expect(await h.result({ timeoutMs: 10_000 })).toBe("done");
    expect(calls.filter((c) => c === "handoff:a")).toHaveLength(1);
    expect(calls.filter((c) => c === "handoff:b")).toHaveLength(2);
  });

  it("stop() lets a run that finishes in time finish", async () => {
    const w1 = await env.worker({ shutdownTimeoutMs: 5000 });
    const client = env.client();
    const h = await client.emitWorkflow(twoSteps, { key: "graceful", holdMs: 300 });
    await waitFor("step b to start", () => calls.includes("graceful:b"));
    await w1.stop();
    expect((await client.getRun(h.id))?.status).toBe("succeeded");
  });

  it("stop() keeps renewing the leases of the runs it waits for (no duplicate execution)", async () => {
    const w1 = await env.worker({ leaseMs: 600, shutdownTimeoutMs: 5000 });
    await env.worker({ leaseMs: 600, app: "other", queues: ["default"] });
    const client = env.client();
    const h = await client.emitWorkflow(twoSteps, { key: "renew-on-stop", holdMs: 1800 });
    await waitFor("step b to start", () => calls.includes("renew-on-stop:b"));
    await w1.stop();
    expect(await h.result({ timeoutMs: 10_000 })).toBe("done");
    expect(calls.filter((c) => c === "renew-on-stop:b")).toHaveLength(1);
  });

  it("a worker serves only its queues; emitWorkflow's queue option overrides the workflow's", async () => {
    const client = env.client();
    await env.worker({ queues: ["default"] });
    const a = await client.emitWorkflow(onQueue, "a");
    const b = await client.emitWorkflow(onQueue, "b", { queue: "default" });
    expect(await b.result({ timeoutMs: 5_000 })).toBe("sent b");
    expect((await client.getRun(b.id))?.queue).toBe("default");
    await new Promise((r) => setTimeout(r, 300));
    expect((await client.getRun(a.id))?.status).toBe("queued");
    await env.worker({ queues: ["emails"] });
    expect(await a.result({ timeoutMs: 5_000 })).toBe("sent a");
  });

  it("by default a worker serves the queues of its workflows, and reports run starts and ends", async () => {
    const seen: string[] = [];
    const w = await env.worker({ onRunEvent: (e) => seen.push(`${e.type}:${e.workflow}:${e.outcome ?? ""}`) });
    expect([...w.queues].sort()).toEqual(["default", "emails"]);
    const client = env.client();
    await (await client.emitWorkflow(onQueue, "x")).result({ timeoutMs: 5_000 });
    await waitFor("the end event", () => seen.includes("end:worker-queued:succeeded"));
    expect(seen).toContain("start:worker-queued:");
  });

  it("concurrency runs several runs at once on one worker", async () => {
    const parallel = defineWorkflow("worker-parallel", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<string>) => {
      await new Promise<void>((r) => gates.set(ctx.input, r));
      return ctx.input;
    });
    await env.worker({ concurrency: 3 });
    const client = env.client();
    const hs = await Promise.all(["p1", "p2", "p3"].map((k) => client.emitWorkflow(parallel, k)));
    await waitFor("three at once", () => gates.size === 3);
    for (const g of gates.values()) g();
    expect(await Promise.all(hs.map((h) => h.result({ timeoutMs: 5_000 })))).toEqual(["p1", "p2", "p3"]);
  });
});
