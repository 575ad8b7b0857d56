import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { defineWorkflow, TimeoutError, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const seen: unknown[] = [];

const triggered = defineWorkflow("ev-triggered", { triggers: [{ event: "user.signed-up" }], maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ user: string }>) => {
  seen.push(ctx.input);
  return `hello ${ctx.input.user}`;
});

const approval = defineWorkflow("ev-approval", { maxConcurrency: Infinity, maxAttempts: 1 }, async (ctx: WorkflowContext<{ order: string; timeoutMs?: number }>) => {
  await ctx.step.run("submitted", () => ctx.input.order);
  const decision = await ctx.step.waitForEvent<{ approved: boolean }>("approval", {
    event: "order.approved",
    correlationKey: ctx.input.order,
    ...(ctx.input.timeoutMs ? { timeoutMs: ctx.input.timeoutMs } : {}),
  });
  return { order: ctx.input.order, approved: decision.approved };
});

const anyKey = defineWorkflow("ev-any-key", { maxConcurrency: Infinity }, async (ctx) => {
  return ctx.step.waitForEvent("ping", { event: "ping" });
});

describe("durable: events, triggers, waitForEvent", () => {
  const env = useDurableEnv();

  it("an event starts a run of each workflow it triggers, with the payload as input", async () => {
    await env.worker();
    const client = env.client();
    const id = await client.emitEvent("user.signed-up", { user: "ada" });
    const ev = await client.getEvent(id);
    expect(ev?.name).toBe("user.signed-up");
    expect(ev?.payload).toEqual({ user: "ada" });
    expect(ev?.runIds).toHaveLength(1);
    const runId = ev!.runIds[0]!;
    const run = await waitFor("the triggered run", async () => {
      const r = await client.getRun(runId);
      return r?.status === "succeeded" ? r : undefined;
    });
    expect(run.workflow).toBe("ev-triggered");
    expect(run.output).toBe("hello ada");
    const other = await client.emitEvent("user.deleted", { user: "bob" });
    expect((await client.getEvent(other))?.runIds).toEqual([]);
    const events = await client.listEvents();
    expect(events.map((e) => e.id)).toEqual([other, id]);
    expect((await client.listEvents({ name: "user.signed-up" })).map((e) => e.id)).toEqual([id]);
    expect(await client.listEvents({ limit: 1 })).toHaveLength(1);
  });

  it("waitForEvent resumes on the event with the matching correlation key only, and holds no slot meanwhile", async () => {
    await env.worker({ concurrency: 1 });
    const client = env.client();
    const a = await client.emitWorkflow(approval, { order: "o-1" });
    const b = await client.emitWorkflow(approval, { order: "o-2" });
    await waitFor("both to wait", async () => {
      const [ra, rb] = [await client.getRun(a.id), await client.getRun(b.id)];
      return ra?.status === "scheduled" && rb?.status === "scheduled";
    });
    const steps = await client.getRunSteps(a.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["submitted", "succeeded"],
      ["approval", "waiting"],
    ]);
    await client.emitEvent("order.approved", { approved: true }, { correlationKey: "o-2" });
    expect(await b.result({ timeoutMs: 10_000 })).toEqual({ order: "o-2", approved: true });
    expect((await client.getRun(a.id))?.status).toBe("scheduled");
    await client.emitEvent("order.approved", { approved: false }, { correlationKey: "o-1" });
    expect(await a.result({ timeoutMs: 10_000 })).toEqual({ order: "o-1", approved: false });
    const done = await client.getRunSteps(a.id);
    expect(done.map((s) => s.status)).toEqual(["succeeded", "succeeded"]);
    expect(done[1]?.output).toEqual({ approved: false });
  });

  it("a wait without a correlation key matches any event of that name", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(anyKey, undefined);
    await waitFor("the wait", async () => (await client.getRun(h.id))?.status === "scheduled");
    await client.emitEvent("ping", 7, { correlationKey: "whatever" });
    expect(await h.result({ timeoutMs: 10_000 })).toBe(7);
  });

  it("waitForEvent fails with TimeoutError after timeoutMs", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(approval, { order: "o-3", timeoutMs: 300 });
    const t0 = Date.now();
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const steps = await client.getRunSteps(h.id);
    expect(steps[1]?.status).toBe("failed");
  });

  it("an event-waiting run survives a worker restart", async () => {
    const w1 = await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(approval, { order: "o-4" });
    await waitFor("the wait", async () => (await client.getRun(h.id))?.status === "scheduled");
    await w1.stop();
    await client.emitEvent("order.approved", { approved: true }, { correlationKey: "o-4" });
    expect((await client.getRun(h.id))?.status).toBe("queued");
    await env.worker();
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ order: "o-4", approved: true });
  });
});
