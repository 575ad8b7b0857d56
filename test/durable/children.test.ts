import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { defineWorkflow, NonRetriableError, TimeoutError, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const childCalls = new Map<string, number>();

const receipt = defineWorkflow("child-receipt", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ order: string; fail?: boolean; slowMs?: number }>) => {
  childCalls.set(ctx.input.order, (childCalls.get(ctx.input.order) ?? 0) + 1);
  if (ctx.input.slowMs) await ctx.step.sleep("slow", ctx.input.slowMs);
  if (ctx.input.fail) throw new NonRetriableError(`no receipt for ${ctx.input.order}`);
  return { receipt: `r-${ctx.input.order}` };
});

const checkout = defineWorkflow(
  "child-checkout",
  { maxConcurrency: Infinity, maxAttempts: 3, retry: { backoffMs: 10 } },
  async (ctx: WorkflowContext<{ order: string; failFirst?: boolean; fail?: boolean; slowMs?: number; timeoutMs?: number }>) => {
    const r = await ctx.step.runWorkflow("send-receipt", receipt, { order: ctx.input.order, fail: ctx.input.fail, slowMs: ctx.input.slowMs }, ctx.input.timeoutMs ? { timeoutMs: ctx.input.timeoutMs } : {});
    const analytics = await ctx.step.emitWorkflow("analytics", "child-receipt", { order: `${ctx.input.order}-analytics` });
    if (ctx.input.failFirst && ctx.run.attempt === 1) throw new Error("parent fails after its children started");
    return { ...r, analytics, attempt: ctx.run.attempt };
  },
);

describe("durable: child workflows", () => {
  const env = useDurableEnv();

  it("runWorkflow waits for the child's output; the parent parks, so a concurrency-1 worker runs the child", async () => {
    await env.worker({ concurrency: 1 });
    const client = env.client();
    const h = await client.emitWorkflow(checkout, { order: "o1" });
    const out = (await h.result({ timeoutMs: 15_000 })) as { receipt: string; analytics: string };
    expect(out.receipt).toBe("r-o1");
    const child = await client.getRun(out.analytics);
    expect(child?.parentRunId).toBe(h.id);
    expect(child?.workflow).toBe("child-receipt");
    const steps = await client.getRunSteps(h.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["send-receipt", "succeeded"],
      ["analytics", "succeeded"],
    ]);
    expect(steps[0]?.childRunId).toBeTruthy();
    expect((await client.getRun(steps[0]!.childRunId!))?.parentRunId).toBe(h.id);
  });

  it("a parent retry never starts a second child", async () => {
    await env.worker({ concurrency: 2 });
    const client = env.client();
    const h = await client.emitWorkflow(checkout, { order: "o2", failFirst: true });
    const out = (await h.result({ timeoutMs: 15_000 })) as { attempt: number; analytics: string };
    expect(out.attempt).toBe(2);
    await waitFor("the analytics child", async () => (await client.getRun(out.analytics))?.status === "succeeded");
    expect(childCalls.get("o2")).toBe(1);
    expect(childCalls.get("o2-analytics")).toBe(1);
    expect(await client.listRuns({ workflow: "child-receipt" })).toHaveLength(2);
  });

  it("a failing child fails the runWorkflow step with the child's error", async () => {
    await env.worker({ concurrency: 2 });
    const client = env.client();
    const h = await client.emitWorkflow(checkout, { order: "o3", fail: true });
    await expect(h.result({ timeoutMs: 15_000 })).rejects.toThrow("no receipt for o3");
    const steps = await client.getRunSteps(h.id);
    expect(steps[0]?.status).toBe("failed");
  });

  it("runWorkflow timeoutMs fails the step with TimeoutError while the child goes on", async () => {
    await env.worker({ concurrency: 2 });
    const client = env.client();
    const h = await client.emitWorkflow(checkout, { order: "o4", slowMs: 1500, timeoutMs: 200 });
    // the parent retries (maxAttempts 3) and each attempt finds the same child, still running
    const err = await h.result({ timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    const children = await client.listRuns({ workflow: "child-receipt" });
    expect(children).toHaveLength(1);
  });
});
