import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { freePort } from "../helpers/redis-server.js";
import {
  ConnectionError,
  createClient,
  defineWorkflow,
  InputValidationError,
  SerializationError,
  startWorker,
  UnknownWorkflowError,
  UsageError,
  type WorkflowContext,
} from "./api.js";
import { useDurableEnv } from "./setup.js";

const validated = defineWorkflow(
  "err-validated",
  { input: z.object({ email: z.string().email(), count: z.number().int().default(1) }), maxConcurrency: Infinity },
  async (ctx) => {
    // inferred from the schema: ctx.input is { email: string; count: number }
    const n: number = ctx.input.count;
    return `${ctx.input.email} x${n}`;
  },
);

const badResult = defineWorkflow("err-bad-result", { maxConcurrency: Infinity, maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx) => {
  await ctx.step.run("returns-a-function", () => ({ cb: () => 1 }));
  return "unreachable";
});

const badOutput = defineWorkflow("err-bad-output", { maxConcurrency: Infinity, maxAttempts: 1 }, async () => Symbol("x"));

async function keyCount(url: string, prefix: string): Promise<number> {
  const r = new Redis(url);
  const keys = await r.keys(`{${prefix}}:*`);
  r.disconnect();
  return keys.filter((k) => !k.endsWith(":workflows") && !k.includes(":app:") && !k.includes(":triggers:")).length;
}

describe("durable: bad input gives clear errors and leaves nothing behind", () => {
  const env = useDurableEnv();

  it("an unknown workflow name → UnknownWorkflowError, nothing written", async () => {
    const client = env.client();
    const err = await client.emitWorkflow("no-such-workflow", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownWorkflowError);
    expect((err as Error).message).toMatch(/no-such-workflow/);
    expect(await keyCount(env.url, env.prefix)).toBe(0);
  });

  it("a workflow published by a worker (not defined in the emitting process) can be emitted by name", async () => {
    await env.worker({ app: "publisher" });
    const client = env.client();
    const h = await client.emitWorkflow("err-validated", { email: "a@b.co" });
    expect(await h.result({ timeoutMs: 10_000 })).toBe("a@b.co x1");
  });

  it("input failing the schema → InputValidationError naming the field, nothing written", async () => {
    const client = env.client();
    const err = await client.emitWorkflow(validated, { email: "not-an-email", count: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as Error).message).toMatch(/email/);
    expect((err as InputValidationError).issues.length).toBeGreaterThan(0);
    expect(await keyCount(env.url, env.prefix)).toBe(0);
  });

  it("input that cannot be serialised → SerializationError, nothing written", async () => {
    const client = env.client();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ f: () => 1 }, cyclic, { s: Symbol("s") }]) {
      const err = await client.emitWorkflow("err-bad-output", bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SerializationError);
    }
    const evErr = await client.emitEvent("e", { f: () => 1 }).catch((e: unknown) => e);
    expect(evErr).toBeInstanceOf(SerializationError);
    expect(await keyCount(env.url, env.prefix)).toBe(0);
  });

  it("a step result that cannot be serialised fails the step and the run at once, with a clear error", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(badResult, undefined);
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as Error).message).toMatch(/step "returns-a-function"/);
    const run = await client.getRun(h.id);
    expect(run?.attempt).toBe(1);
    const steps = await client.getRunSteps(h.id);
    expect(steps[0]?.status).toBe("failed");
    expect(steps[0]?.error?.name).toBe("SerializationError");
  });

  it("an output that cannot be serialised fails the run", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(badOutput, undefined);
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(SerializationError);
  });

  it("input is validated again at run start (a run emitted by a process without the schema)", async () => {
    await env.worker();
    const client = env.client();
    const { workflowRegistry } = await import("../../src/durable/define.js");
    const def = workflowRegistry().get("err-validated")!;
    workflowRegistry().delete("err-validated");
    try {
      // emitted by name through the published metadata: no local schema to check against
      const h = await client.emitWorkflow("err-validated", { email: 42 });
      const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputValidationError);
      expect((await client.getRun(h.id))?.attempt).toBe(1);
    } finally {
      workflowRegistry().set("err-validated", def);
    }
  });

  it("an unreachable Redis → ConnectionError naming the URL within a bounded time", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const t0 = Date.now();
    const err = await startWorker({ app: "x", url, connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    const client = createClient({ url, connectTimeoutMs: 1000 });
    const err2 = await client.getRun("x").catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ConnectionError);
    await client.close();
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("an unroutable Redis host is bounded by connectTimeoutMs too", async () => {
    const t0 = Date.now();
    const err = await startWorker({ app: "x", url: "redis://10.255.255.1:6379", connectTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("a malformed cron expression is an error at definition time", () => {
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "not a cron" }] }, async () => 1)).toThrow(UsageError);
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "61 * * * *" }] }, async () => 1)).toThrow(/cron\[0\]\.expression "61 \* \* \* \*" is malformed/);
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "* * * *" }] }, async () => 1)).toThrow(/expected 5 fields/);
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "* * * * *", timezone: "Mars/Olympus" }] }, async () => 1)).toThrow(UsageError);
    expect(() => defineWorkflow("err-cron-ok", { cron: [{ expression: "*/5 * * * * *", timezone: "Europe/Paris" }] }, async () => 1)).not.toThrow();
  });

  it("bad options name the field", () => {
    expect(() => defineWorkflow("err-opt", { maxConcurrency: 0 }, async () => 1)).toThrow(/maxConcurrency/);
    expect(() => defineWorkflow("err-opt", { maxAttempts: 1.5 }, async () => 1)).toThrow(/maxAttempts/);
    expect(() => defineWorkflow("err-opt", { queue: "" }, async () => 1)).toThrow(/queue/);
    expect(() => defineWorkflow("err-opt", { retry: { backoffMs: -1 } }, async () => 1)).toThrow(/retry\.backoffMs/);
    expect(() => defineWorkflow("err-opt", { triggers: [{ event: "" }] }, async () => 1)).toThrow(/triggers\[0\]\.event/);
    expect(() => defineWorkflow("err-opt", { input: {} as never }, async () => 1)).toThrow(/Standard Schema/);
    expect(() => createClient({ url: "" })).toThrow(/options\.url/);
    return expect(startWorker({ app: "a", url: env.url, concurrency: 0 })).rejects.toThrow(/options\.concurrency/);
  });

  it("types: the handler input comes from the schema or the annotation", async () => {
    const typed = defineWorkflow("err-typed", {}, async (ctx: WorkflowContext<{ a: number }>) => ctx.input.a * 2);
    const client = env.client();
    // @ts-expect-error the input must be { a: number }
    const p = client.emitWorkflow(typed, { a: "x" }).catch(() => undefined);
    await p;
  });
});
