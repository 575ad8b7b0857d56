import { describe, expect, it } from "vitest";
import { defineWorkflow, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const calls: string[] = [];

const welcome = defineWorkflow("basic-welcome", {}, async (ctx: WorkflowContext<{ userId: string }>) => {
  const user = await ctx.step.run("fetch-user", () => {
    calls.push("fetch");
    return { email: `${ctx.input.userId}@example.com` };
  });
  await ctx.step.run("send-email", () => {
    calls.push("send");
    return user.email;
  }, { timeoutMs: 4000 });
  return { sent: true, to: user.email };
});

const rich = defineWorkflow("basic-rich-values", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<{ when: Date; tags: Set<string>; big: bigint }>) => {
  const m = await ctx.step.run("map", () => new Map([["at", ctx.input.when]]));
  const nothing = await ctx.step.run("nothing", () => undefined);
  return { isDate: ctx.input.when instanceof Date, tags: [...ctx.input.tags], big: ctx.input.big + 1n, m, nothing };
});

let seen: { keys: string[]; spread: Record<string, unknown>; fromDestructured: unknown } | undefined;
const shape = defineWorkflow("basic-ctx-shape", {}, async (ctx: WorkflowContext<{ n: number }>) => {
  const spread = { ...ctx } as Record<string, unknown>;
  // step methods work detached from ctx.step
  const { run } = ctx.step;
  const fromDestructured = await run("one", () => ctx.input.n + 1);
  seen = { keys: Object.keys(ctx), spread, fromDestructured };
  return fromDestructured;
});

describe("durable: happy path", () => {
  const env = useDurableEnv();

  it("emits a run, a worker runs its steps, the handle resolves to the output", async () => {
    const worker = await env.worker();
    const client = env.client();
    const handle = await client.emitWorkflow(welcome, { userId: "u1" }, { idempotencyKey: "welcome:u1" });
    const output = await handle.result({ timeoutMs: 15_000 });
    expect(output).toEqual({ sent: true, to: "u1@example.com" });
    const run = await client.getRun(handle.id);
    expect(run?.status).toBe("succeeded");
    expect(run?.attempt).toBe(1);
    expect(run?.input).toEqual({ userId: "u1" });
    expect(run?.startedAt).toBeInstanceOf(Date);
    expect(run?.finishedAt).toBeInstanceOf(Date);
    const steps = await client.getRunSteps(handle.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["fetch-user", "succeeded"],
      ["send-email", "succeeded"],
    ]);
    expect(steps[0]?.output).toEqual({ email: "u1@example.com" });
    expect((await handle.getState()).status).toBe("succeeded");
    expect(calls).toEqual(["fetch", "send"]);
    await worker.stop();
  });

  it("inputs, step results and outputs keep Dates, Maps, Sets, BigInts and undefined", async () => {
    await env.worker();
    const client = env.client();
    const when = new Date("2026-01-02T03:04:05.000Z");
    const h = await client.emitWorkflow(rich, { when, tags: new Set(["a", "b"]), big: 41n });
    const out = await h.result({ timeoutMs: 10_000 });
    expect(out).toEqual({ isDate: true, tags: ["a", "b"], big: 42n, m: new Map([["at", when]]), nothing: undefined });
    expect((await client.getRun(h.id))?.input).toEqual({ when, tags: new Set(["a", "b"]), big: 41n });
    const steps = await client.getRunSteps(h.id);
    expect(steps[0]?.output).toEqual(new Map([["at", when]]));
  });

  it("ctx is a plain object: spreading it keeps input, run, signal and step; step methods may be destructured", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(shape, { n: 41 });
    expect(await h.result({ timeoutMs: 10_000 })).toBe(42);
    expect(seen?.keys).toEqual(["input", "run", "signal", "step"]);
    expect(seen?.spread.input).toEqual({ n: 41 });
    expect((seen?.spread.run as { id?: string }).id).toBe(h.id);
    expect(seen?.spread.signal).toBeInstanceOf(AbortSignal);
    expect(typeof (seen?.spread.step as { run?: unknown }).run).toBe("function");
    expect(seen?.fromDestructured).toBe(42);
  });
});
