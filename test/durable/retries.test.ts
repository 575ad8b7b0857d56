import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { defineWorkflow, NonRetriableError, TimeoutError, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const counts = new Map<string, number>();
const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
const failures: Array<{ id: string; attempt: number; message: string; input: unknown }> = [];

const memo = defineWorkflow("retry-memo", { maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx: WorkflowContext<{ key: string }>) => {
  const a = await ctx.step.run("a", () => {
    bump(`${ctx.input.key}:a`);
    return { n: 41 };
  });
  const b = await ctx.step.run("b", () => {
    bump(`${ctx.input.key}:b`);
    if (ctx.run.attempt < 3) throw new Error(`b fails on attempt ${ctx.run.attempt}`);
    return a.n + 1;
  });
  return { b, attempt: ctx.run.attempt };
});

const exhaust = defineWorkflow(
  "retry-exhaust",
  {
    maxAttempts: 3,
    retry: { backoffMs: 150, factor: 2, maxBackoffMs: 10_000 },
    onFailure: (ctx) => {
      failures.push({ id: ctx.run.id, attempt: ctx.run.attempt, message: ctx.error.message, input: ctx.input });
    },
  },
  async (ctx: WorkflowContext<{ key: string }>) => {
    bump(`${ctx.input.key}:attempt`);
    counts.set(`${ctx.input.key}:t${ctx.run.attempt}`, Date.now());
    throw new Error(`always fails (${ctx.run.attempt})`);
  },
);

const nonRetriable = defineWorkflow(
  "retry-non-retriable",
  { maxAttempts: 5, retry: { backoffMs: 10 }, onFailure: (ctx) => void failures.push({ id: ctx.run.id, attempt: ctx.run.attempt, message: ctx.error.message, input: ctx.input }) },
  async (ctx: WorkflowContext<{ key: string }>) => {
    bump(`${ctx.input.key}:attempt`);
    throw new NonRetriableError("card declined");
  },
);

const timeout = defineWorkflow("retry-step-timeout", { maxAttempts: 1 }, async (ctx: WorkflowContext<{ key: string }>) => {
  let aborted = false;
  try {
    await ctx.step.run(
      "slow",
      ({ signal }) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            counts.set(`${ctx.input.key}:aborted`, 1);
          });
          setTimeout(resolve, 5_000);
        }),
      { timeoutMs: 100 },
    );
  } catch (e) {
    counts.set(`${ctx.input.key}:timeout`, e instanceof TimeoutError ? 1 : 0);
    throw e;
  }
  return aborted;
});

const dup = defineWorkflow("retry-duplicate-step", { maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx: WorkflowContext<{ key: string }>) => {
  await ctx.step.run("same", () => 1);
  bump(`${ctx.input.key}:attempt`);
  await ctx.step.run("same", () => 2);
  return "unreachable";
});

describe("durable: retries, backoff, NonRetriableError, onFailure, step timeouts", () => {
  const env = useDurableEnv();

  it("a step that succeeded is not called again when a later step fails and the run retries", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(memo, { key: "m1" });
    expect(await h.result({ timeoutMs: 15_000 })).toEqual({ b: 42, attempt: 3 });
    expect(counts.get("m1:a")).toBe(1);
    expect(counts.get("m1:b")).toBe(3);
    const run = await client.getRun(h.id);
    expect(run?.attempt).toBe(3);
    expect(run?.maxAttempts).toBe(3);
    const steps = await client.getRunSteps(h.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["a", "succeeded"],
      ["b", "succeeded"],
    ]);
  });

  it("retries up to maxAttempts with growing backoff, then fails and calls onFailure once", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(exhaust, { key: "e1" });
    await expect(h.result({ timeoutMs: 15_000 })).rejects.toThrow("always fails (3)");
    expect(counts.get("e1:attempt")).toBe(3);
    const gap1 = counts.get("e1:t2")! - counts.get("e1:t1")!;
    const gap2 = counts.get("e1:t3")! - counts.get("e1:t2")!;
    expect(gap1).toBeGreaterThanOrEqual(140);
    expect(gap2).toBeGreaterThanOrEqual(290);
    await waitFor("onFailure", () => failures.some((f) => f.id === h.id));
    const mine = failures.filter((f) => f.id === h.id);
    expect(mine).toEqual([{ id: h.id, attempt: 3, message: "always fails (3)", input: { key: "e1" } }]);
    const run = await client.getRun(h.id);
    expect(run?.status).toBe("failed");
    expect(run?.error?.message).toBe("always fails (3)");
    expect(run?.finishedAt).toBeInstanceOf(Date);
  });

  it("NonRetriableError fails the run at once, onFailure once", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(nonRetriable, { key: "n1" });
    const err = await h.result({ timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetriableError);
    expect((err as Error).message).toBe("card declined");
    expect(counts.get("n1:attempt")).toBe(1);
    await waitFor("onFailure", () => failures.some((f) => f.id === h.id));
    expect(failures.filter((f) => f.id === h.id)).toHaveLength(1);
    expect((await client.getRun(h.id))?.attempt).toBe(1);
  });

  it("step timeoutMs fails the step with TimeoutError and aborts its signal", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(timeout, { key: "t1" });
    const err = await h.result({ timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(counts.get("t1:timeout")).toBe(1);
    expect(counts.get("t1:aborted")).toBe(1);
    const steps = await client.getRunSteps(h.id);
    expect(steps).toHaveLength(1);
    expect(steps[0]?.status).toBe("failed");
    expect(steps[0]?.error?.name).toBe("TimeoutError");
  });

  it("a duplicate step name in a run is a clear error that fails the run without retries", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(dup, { key: "d1" });
    await expect(h.result({ timeoutMs: 15_000 })).rejects.toThrow(/duplicate step name "same"/);
    expect(counts.get("d1:attempt")).toBe(1);
  });
});
