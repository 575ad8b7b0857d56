import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { defineWorkflow, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const log: Array<{ key: string; event: string; at: number }> = [];
let running = 0;
let maxRunning = 0;
const gates = new Map<string, () => void>();

const delayed = defineWorkflow("sched-delayed", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string }>) => {
  log.push({ key: ctx.input.key, event: "start", at: Date.now() });
  return ctx.input.key;
});

const limited = defineWorkflow("sched-limited", { maxConcurrency: 2 }, async (ctx: WorkflowContext<{ key: string }>) => {
  running++;
  maxRunning = Math.max(maxRunning, running);
  await ctx.step.run("work", () => new Promise((r) => setTimeout(r, 60)));
  running--;
  return ctx.input.key;
});

const sleeper = defineWorkflow("sched-sleeper", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string; ms: number }>) => {
  await ctx.step.run("before", () => log.push({ key: ctx.input.key, event: "before", at: Date.now() }));
  await ctx.step.sleep("nap", ctx.input.ms);
  await ctx.step.run("after", () => log.push({ key: ctx.input.key, event: "after", at: Date.now() }));
  return "woke";
});

const quick = defineWorkflow("sched-quick", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string }>) => {
  log.push({ key: ctx.input.key, event: "quick", at: Date.now() });
  await new Promise<void>((r) => {
    if (ctx.input.key.startsWith("gate")) gates.set(ctx.input.key, r);
    else r();
  });
  return "ok";
});

describe("durable: delayed runs, idempotency, maxConcurrency, sleep", () => {
  const env = useDurableEnv();

  it("runAt delays the start; the run is 'scheduled' until then", async () => {
    await env.worker();
    const client = env.client();
    const at = Date.now() + 700;
    const h = await client.emitWorkflow(delayed, { key: "later" }, { runAt: new Date(at) });
    const state = await h.getState();
    expect(state.status).toBe("scheduled");
    expect(state.runAt?.getTime()).toBe(at);
    expect(await h.result({ timeoutMs: 10_000 })).toBe("later");
    const started = log.find((l) => l.key === "later" && l.event === "start")!;
    expect(started.at).toBeGreaterThanOrEqual(at);
  });

  it("an idempotency key returns the same run, before and after it finished", async () => {
    await env.worker();
    const client = env.client();
    const a = await client.emitWorkflow(delayed, { key: "idem" }, { idempotencyKey: "k1" });
    const b = await client.emitWorkflow(delayed, { key: "idem-other-input" }, { idempotencyKey: "k1" });
    expect(b.id).toBe(a.id);
    await a.result({ timeoutMs: 10_000 });
    const c = await client.emitWorkflow(delayed, { key: "idem" }, { idempotencyKey: "k1" });
    expect(c.id).toBe(a.id);
    const d = await client.emitWorkflow(delayed, { key: "idem" }, { idempotencyKey: "k2" });
    expect(d.id).not.toBe(a.id);
    await d.result({ timeoutMs: 10_000 });
    expect((await client.listRuns({ workflow: "sched-delayed" })).length).toBe(2);
  });

  it("the idempotency window is idempotencyTtlMs", async () => {
    await env.worker();
    const { createClient } = await import("./api.js");
    const client = createClient({ url: env.url, prefix: env.prefix, idempotencyTtlMs: 200 });
    try {
      const a = await client.emitWorkflow(delayed, { key: "ttl" }, { idempotencyKey: "short" });
      await a.result({ timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 300));
      const b = await client.emitWorkflow(delayed, { key: "ttl" }, { idempotencyKey: "short" });
      expect(b.id).not.toBe(a.id);
    } finally {
      await client.close();
    }
  });

  it("maxConcurrency bounds the running runs of a workflow even with free worker slots", async () => {
    await env.worker({ concurrency: 8 });
    const client = env.client();
    running = 0;
    maxRunning = 0;
    const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => client.emitWorkflow(limited, { key: `l${i}` })));
    const outs = await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    expect(outs.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `l${i}`).sort());
    expect(maxRunning).toBe(2);
  });

  it("default maxConcurrency is 1", async () => {
    expect(delayed.options.maxConcurrency).toBe(Infinity);
    const def = defineWorkflow("sched-default-limit", {}, async () => 1);
    expect(def.options.maxConcurrency).toBe(1);
    expect(def.options.queue).toBe("default");
    expect(def.options.maxAttempts).toBe(3);
  });

  it("a sleeping run holds no slot: a concurrency-1 worker runs other runs meanwhile, then resumes it", async () => {
    await env.worker({ concurrency: 1 });
    const client = env.client();
    const s = await client.emitWorkflow(sleeper, { key: "s1", ms: 800 });
    await waitFor("the sleep to start", async () => (await client.getRun(s.id))?.status === "scheduled");
    const q = await client.emitWorkflow(quick, { key: "q1" });
    expect(await q.result({ timeoutMs: 5_000 })).toBe("ok");
    expect((await client.getRun(s.id))?.status).toBe("scheduled");
    expect(await s.result({ timeoutMs: 10_000 })).toBe("woke");
    const before = log.find((l) => l.key === "s1" && l.event === "before")!;
    const after = log.find((l) => l.key === "s1" && l.event === "after")!;
    const quickAt = log.find((l) => l.key === "q1")!.at;
    expect(quickAt).toBeLessThan(after.at);
    expect(after.at - before.at).toBeGreaterThanOrEqual(780);
    expect(log.filter((l) => l.key === "s1" && l.event === "before")).toHaveLength(1);
    const steps = await client.getRunSteps(s.id);
    expect(steps.map((x) => [x.name, x.status])).toEqual([
      ["before", "succeeded"],
      ["nap", "succeeded"],
      ["after", "succeeded"],
    ]);
  });

  it("a busy worker slot is not taken by more runs than its concurrency", async () => {
    await env.worker({ concurrency: 1 });
    const client = env.client();
    const g = await client.emitWorkflow(quick, { key: "gate1" });
    await waitFor("gate1 to run", () => gates.has("gate1"));
    const q = await client.emitWorkflow(quick, { key: "after-gate" });
    await new Promise((r) => setTimeout(r, 300));
    expect((await client.getRun(q.id))?.status).toBe("queued");
    gates.get("gate1")!();
    await g.result({ timeoutMs: 5_000 });
    await q.result({ timeoutMs: 5_000 });
  });
});
