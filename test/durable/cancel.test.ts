import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { CanceledError, defineWorkflow, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const events: string[] = [];
let stepSignalAborted = false;
let runSignalAborted = false;

const longRunning = defineWorkflow("cancel-long", { maxConcurrency: Infinity, maxAttempts: 1 }, async (ctx: WorkflowContext<{ key: string }>) => {
  ctx.signal.addEventListener("abort", () => (runSignalAborted = true));
  await ctx.step.run("first", () => events.push(`${ctx.input.key}:first`));
  await ctx.step.run("slow", ({ signal }) => {
    events.push(`${ctx.input.key}:slow-start`);
    return new Promise((resolve) => {
      signal.addEventListener("abort", () => (stepSignalAborted = true));
      setTimeout(resolve, 10_000);
    });
  });
  await ctx.step.run("never", () => events.push(`${ctx.input.key}:never`));
  return "done";
});

const child = defineWorkflow("cancel-child", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string }>) => {
  await ctx.step.run("child-slow", ({ signal }) => {
    events.push(`${ctx.input.key}:child-started`);
    return new Promise((resolve) => {
      signal.addEventListener("abort", () => events.push(`${ctx.input.key}:child-aborted`));
      setTimeout(resolve, 10_000);
    });
  });
  return "child done";
});

const parent = defineWorkflow("cancel-parent", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ key: string }>) => {
  const waited = ctx.step.runWorkflow("wait-child", child, { key: `${ctx.input.key}-a` });
  return waited;
});

const quickOne = defineWorkflow("cancel-quick", { maxConcurrency: Infinity }, async () => "quick");

const waiter = defineWorkflow("cancel-waiter", { maxConcurrency: Infinity }, async (ctx) => {
  await ctx.step.run("before", () => 1);
  await ctx.step.sleep("nap", 60_000);
  await ctx.step.waitForEvent("signal", { event: "cancel-waiter-go" });
  return "woke";
});
const eventWaiter = defineWorkflow("cancel-event-waiter", { maxConcurrency: Infinity }, async (ctx) => {
  await ctx.step.waitForEvent("signal", { event: "cancel-waiter-go", timeoutMs: 60_000 });
  return "woke";
});

const gates = new Map<string, () => void>();
const single = defineWorkflow("cancel-single", { maxConcurrency: 1 }, async (ctx: WorkflowContext<{ key: string }>) => {
  events.push(`${ctx.input.key}:single-start`);
  if (ctx.input.key === "A") await new Promise<void>((r) => gates.set("A", r));
  return ctx.input.key;
});

describe("durable: cancellation", () => {
  const env = useDurableEnv();

  it("cancelRun aborts ctx.signal and the running step's signal; no later step starts; the run ends canceled", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(longRunning, { key: "c1" });
    await waitFor("the slow step", () => events.includes("c1:slow-start"));
    // a step whose body outlasts its event-loop turn is listed as running
    let running: Awaited<ReturnType<typeof client.getRunSteps>> = [];
    await waitFor("the slow step listed as running", async () => {
      running = await client.getRunSteps(h.id);
      return running.length === 2;
    });
    expect(running.map((s) => [s.name, s.status])).toEqual([
      ["first", "succeeded"],
      ["slow", "running"],
    ]);
    expect(running[1]?.startedAt).toBeInstanceOf(Date);
    expect(running[1]?.finishedAt).toBeUndefined();
    expect(await client.cancelRun(h.id, { reason: "requested by user" })).toBe(true);
    const err = await h.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CanceledError);
    expect((err as CanceledError).reason).toBe("requested by user");
    await waitFor("the signals", () => runSignalAborted && stepSignalAborted);
    const run = await client.getRun(h.id);
    expect(run?.status).toBe("canceled");
    expect(run?.finishedAt).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 200));
    expect(events).not.toContain("c1:never");
    // the step that was running ends canceled, with the cancellation error
    const steps = await client.getRunSteps(h.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["first", "succeeded"],
      ["slow", "canceled"],
    ]);
    expect(steps[1]?.error).toMatchObject({ name: "CanceledError", message: "canceled: requested by user" });
    expect(steps[1]?.finishedAt).toBeInstanceOf(Date);
    expect(await client.cancelRun(h.id)).toBe(false);
  });

  it("a run canceled while it sleeps or waits for an event: the waiting step ends canceled, with finishedAt", async () => {
    await env.worker({ concurrency: 2 });
    const client = env.client();
    const sleeping = await client.emitWorkflow(waiter, undefined);
    const waiting = await client.emitWorkflow(eventWaiter, undefined);
    for (const [h, step] of [[sleeping, "nap"], [waiting, "signal"]] as const) {
      await waitFor(`${step} to wait`, async () => (await client.getRunSteps(h.id)).some((s) => s.name === step && s.status === "waiting"));
    }
    const t0 = Date.now();
    expect(await client.cancelRun(sleeping.id, { reason: "no longer needed" })).toBe(true);
    expect(await client.cancelRun(waiting.id)).toBe(true);
    await expect(sleeping.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(CanceledError);
    const steps = await client.getRunSteps(sleeping.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([["before", "succeeded"], ["nap", "canceled"]]);
    const nap = steps[1]!;
    expect(nap.finishedAt).toBeInstanceOf(Date);
    expect(nap.finishedAt!.getTime()).toBeGreaterThanOrEqual(t0);
    expect(nap.error).toMatchObject({ name: "CanceledError", message: "canceled: no longer needed" });
    const [signal] = await client.getRunSteps(waiting.id);
    expect([signal?.name, signal?.status, signal?.finishedAt instanceof Date]).toEqual(["signal", "canceled", true]);
    // a matching event after the cancellation completes nothing
    await client.emitEvent("cancel-waiter-go", { late: true });
    expect((await client.getRunSteps(waiting.id))[0]?.status).toBe("canceled");
    expect((await client.getRun(waiting.id))?.status).toBe("canceled");
  });

  it("cancelRun of a finished run resolves false; of a queued run true, and it never starts", async () => {
    const client = env.client();
    const queued = await client.emitWorkflow(quickOne, undefined);
    expect(await client.cancelRun(queued.id)).toBe(true);
    await env.worker();
    const done = await client.emitWorkflow(quickOne, undefined);
    expect(await done.result({ timeoutMs: 5_000 })).toBe("quick");
    expect(await client.cancelRun(done.id)).toBe(false);
    expect((await client.getRun(queued.id))?.status).toBe("canceled");
    expect((await client.getRun(queued.id))?.startedAt).toBeUndefined();
    expect(await client.cancelRun("no-such-run")).toBe(false);
  });

  it("canceling a parent cancels its running child", async () => {
    await env.worker({ concurrency: 2 });
    const client = env.client();
    const h = await client.emitWorkflow(parent, { key: "p1" });
    await waitFor("the child to run", () => events.includes("p1-a:child-started"));
    expect(await client.cancelRun(h.id)).toBe(true);
    await expect(h.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(CanceledError);
    const children = await client.listRuns({ workflow: "cancel-child" });
    expect(children).toHaveLength(1);
    expect(children[0]?.status).toBe("canceled");
    expect(children[0]?.parentRunId).toBe(h.id);
    await waitFor("the child's step signal", () => events.includes("p1-a:child-aborted"));
  });

  it("canceling a scheduled (delayed) run removes it from the schedule", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(quickOne, undefined, { runAt: new Date(Date.now() + 300) });
    expect(await client.cancelRun(h.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect((await client.getRun(h.id))?.status).toBe("canceled");
    expect((await client.getStats()).byStatus.canceled).toBe(1);
  });

  it("a run canceled while set aside by maxConcurrency does not strand the runs behind it", async () => {
    await env.worker({ concurrency: 4 });
    const client = env.client();
    const a = await client.emitWorkflow(single, { key: "A" });
    await waitFor("A to run", () => gates.has("A"));
    const b = await client.emitWorkflow(single, { key: "B" });
    const c = await client.emitWorkflow(single, { key: "C" });
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.getRun(b.id))?.status).toBe("queued");
    expect(await client.cancelRun(b.id)).toBe(true);
    gates.get("A")!();
    expect(await a.result({ timeoutMs: 5_000 })).toBe("A");
    expect(await c.result({ timeoutMs: 5_000 })).toBe("C");
    expect(events).not.toContain("B:single-start");
  });
});
