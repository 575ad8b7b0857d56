import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { waitFor } from "../helpers/deadline.js";
import { NonRetriableError, defineWorkflow, startWorker, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const gates = new Map<string, () => void>();

const quick = defineWorkflow("retention-quick", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ fail?: boolean }>) => {
  await ctx.step.run("one", () => 1);
  if (ctx.input.fail) throw new NonRetriableError("failed on purpose");
  return "ok";
});

const held = defineWorkflow("retention-held", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string }>) => {
  await ctx.step.run("wait", () => new Promise<void>((resolve) => gates.set(ctx.input.key, resolve)));
  return "released";
});

const child = defineWorkflow("retention-child", { maxConcurrency: Infinity }, async () => "child");
const parent = defineWorkflow("retention-parent", { maxConcurrency: Infinity }, async (ctx) => ctx.step.runWorkflow("child", child, undefined));

describe("durable: retention of finished runs and events", () => {
  const env = useDurableEnv();

  it("retentionMs: finished runs and events are deleted after it; unfinished runs and recent ones stay", async () => {
    const retentionMs = 1000;
    await env.worker({ retentionMs, concurrency: 8 });
    const client = env.client();
    const ok = await client.emitWorkflow(quick, {});
    const bad = await client.emitWorkflow(quick, { fail: true });
    const canceled = await client.emitWorkflow(held, { key: "c" });
    const running = await client.emitWorkflow(held, { key: "r" });
    const fam = await client.emitWorkflow(parent, undefined);
    await ok.result({ timeoutMs: 10_000 });
    await expect(bad.result({ timeoutMs: 10_000 })).rejects.toThrow("failed on purpose");
    expect(await fam.result({ timeoutMs: 10_000 })).toBe("child");
    await waitFor("both held runs to start", () => gates.has("c") && gates.has("r"));
    expect(await client.cancelRun(canceled.id)).toBe(true);
    const eventId = await client.emitEvent("retention-event", { n: 1 });
    expect(await client.getEvent(eventId)).toBeDefined();
    const childId = (await client.getRunSteps(fam.id))[0]?.childRunId;
    expect(childId).toBeDefined();
    const endedAt = Date.now();

    // a run emitted now is deleted in its own time, after the others
    const late = await client.emitWorkflow(quick, {});
    await waitFor("the finished runs and the event to be deleted", async () => {
      const gone = await Promise.all([ok.id, bad.id, canceled.id, fam.id, childId!].map((id) => client.getRun(id)));
      return gone.every((r) => r === undefined) && (await client.getEvent(eventId)) === undefined;
    });
    // not before their time
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(retentionMs - 50);
    expect(await client.getRunSteps(ok.id)).toEqual([]);
    expect(await client.listEvents({ name: "retention-event" })).toEqual([]);

    const still = await client.getRun(running.id);
    expect(still?.status).toBe("running");
    const listed = (await client.listRuns({ limit: 100 })).map((r) => r.id);
    expect(listed).toContain(running.id);
    expect(listed).not.toContain(ok.id);
    expect(listed).not.toContain(fam.id);
    expect((await client.listRuns({ workflow: "retention-quick" })).map((r) => r.id)).not.toContain(bad.id);
    const stats = await client.getStats();
    expect(stats.byStatus.failed).toBe(0);
    expect(stats.byStatus.canceled).toBe(0);
    expect(stats.byStatus.running).toBe(1);

    // the run that was held all along finishes, and goes in its turn
    gates.get("r")!();
    expect(await running.result({ timeoutMs: 10_000 })).toBe("released");
    // just finished: kept (for retentionMs)
    expect((await client.getRun(running.id))?.status).toBe("succeeded");
    await waitFor("the last runs to be deleted", async () => (await client.getRun(running.id)) === undefined && (await client.getRun(late.id)) === undefined);
    expect((await client.getStats()).total).toBe(0);

    // no run, step, children or event key is left in Redis
    const redis = new Redis(env.url);
    try {
      const keys = await redis.keys(`{${env.prefix}}:*`);
      expect(keys.filter((k) => /:(run|steps|children|event):/.test(k))).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it("an idempotency key whose run was deleted starts a new run", async () => {
    await env.worker({ retentionMs: 1000 });
    const client = env.client();
    const first = await client.emitWorkflow(quick, {}, { idempotencyKey: "once" });
    expect((await client.emitWorkflow(quick, {}, { idempotencyKey: "once" })).id).toBe(first.id);
    await first.result({ timeoutMs: 10_000 });
    await waitFor("the run to be deleted", async () => (await client.getRun(first.id)) === undefined);
    const again = await client.emitWorkflow(quick, {}, { idempotencyKey: "once" });
    expect(again.id).not.toBe(first.id);
    expect(await again.result({ timeoutMs: 10_000 })).toBe("ok");
  });

  it("a retentionMs below 1000 is a UsageError naming the option", async () => {
    await expect(startWorker({ app: "t", url: env.url, prefix: env.prefix, retentionMs: 10 })).rejects.toThrow(/retentionMs must be a number >= 1000/);
  });
});
