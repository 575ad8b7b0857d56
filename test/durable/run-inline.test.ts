import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineWorkflow, InputValidationError, runInline, TimeoutError, UsageError, type WorkflowContext } from "./api.js";

const calls: string[] = [];

const welcome = defineWorkflow("inline-welcome", {}, async (ctx: WorkflowContext<{ userId: string }>) => {
  const user = await ctx.step.run("fetch-user", () => {
    calls.push("fetch-user");
    return { email: `${ctx.input.userId}@real.example` };
  });
  await ctx.step.sleep("pause", 60_000);
  const sent = await ctx.step.run("send-email", () => {
    calls.push("send-email");
    return `sent to ${user.email}`;
  });
  return { sent };
});

const child = defineWorkflow("inline-child", {}, async (ctx: WorkflowContext<number>) => ctx.step.run("double", () => ctx.input * 2));
const parent = defineWorkflow("inline-parent", {}, async (ctx: WorkflowContext<number>) => {
  const doubled = await ctx.step.runWorkflow("child", child, ctx.input);
  const id = await ctx.step.emitWorkflow("fire", "inline-child", 1);
  const ev = await ctx.step.waitForEvent<{ ok: boolean }>("approval", { event: "approved" });
  return { doubled, id: typeof id, ok: ev.ok };
});

describe("runInline", () => {
  it("runs a handler in-process without Redis; sleep returns at once", async () => {
    const t0 = Date.now();
    const r = await runInline(welcome, { input: { userId: "u1" } });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.succeeded).toBe(true);
    expect(r.output).toEqual({ sent: "sent to u1@real.example" });
    expect(r.error).toBeUndefined();
    expect(r.steps.map((s) => [s.name, s.status])).toEqual([
      ["fetch-user", "succeeded"],
      ["pause", "succeeded"],
      ["send-email", "succeeded"],
    ]);
  });

  it("stepOverrides replace steps: their bodies are not called", async () => {
    calls.length = 0;
    const r = await runInline(welcome, { input: { userId: "u2" }, stepOverrides: { "fetch-user": { email: "mock@test.com" } } });
    expect(r.succeeded).toBe(true);
    expect(r.output).toEqual({ sent: "sent to mock@test.com" });
    expect(calls).toEqual(["send-email"]);
    expect(r.steps[0]).toMatchObject({ name: "fetch-user", overridden: true, output: { email: "mock@test.com" } });
  });

  it("reports failures instead of throwing", async () => {
    const failing = defineWorkflow("inline-failing", {}, async (ctx) => {
      await ctx.step.run("boom", () => {
        throw new Error("boom");
      });
    });
    const r = await runInline(failing, { input: undefined });
    expect(r.succeeded).toBe(false);
    expect(r.error?.message).toBe("boom");
    expect(r.steps[0]?.status).toBe("failed");
  });

  it("runs children inline; waitForEvent needs an override", async () => {
    const missing = await runInline(parent, { input: 21 });
    expect(missing.succeeded).toBe(false);
    expect(missing.error).toBeInstanceOf(UsageError);
    expect(missing.error?.message).toMatch(/approval/);
    const r = await runInline(parent, { input: 21, stepOverrides: { approval: { ok: true } } });
    expect(r.output).toEqual({ doubled: 42, id: "string", ok: true });
  });

  it("validates the input with the schema, honours step timeouts and duplicate names", async () => {
    const schema = defineWorkflow("inline-schema", { input: z.object({ n: z.number() }) }, async (ctx) => ctx.input.n + 1);
    expect((await runInline(schema, { input: { n: 1 } })).output).toBe(2);
    const bad = await runInline(schema, { input: { n: "x" } as unknown as { n: number } });
    expect(bad.error).toBeInstanceOf(InputValidationError);

    const slow = defineWorkflow("inline-slow", {}, async (ctx) => ctx.step.run("slow", () => new Promise((r) => setTimeout(r, 2000)), { timeoutMs: 50 }));
    expect((await runInline(slow, { input: undefined })).error).toBeInstanceOf(TimeoutError);

    const dup = defineWorkflow("inline-dup", {}, async (ctx) => {
      await ctx.step.run("a", () => 1);
      await ctx.step.run("a", () => 2);
    });
    expect((await runInline(dup, { input: undefined })).error?.message).toMatch(/duplicate step name "a"/);
  });

  it("a step result that cannot be stored fails like on a worker", async () => {
    const wf = defineWorkflow("inline-unstorable", {}, async (ctx) => ctx.step.run("fn", () => () => 1));
    const r = await runInline(wf, { input: undefined });
    expect(r.succeeded).toBe(false);
    expect(r.error?.name).toBe("SerializationError");
  });

  it("a stepOverrides name that matches no step that ran is reported, not silently ignored", async () => {
    calls.length = 0;
    const typo = await runInline(welcome, { input: { userId: "u3" }, stepOverrides: { "fetch-usr": { email: "mock@test.com" }, pause: undefined } });
    expect(typo.succeeded).toBe(false);
    expect(typo.output).toBeUndefined();
    expect(typo.error).toBeInstanceOf(UsageError);
    expect(typo.error?.message).toBe('inline run of inline-welcome: stepOverrides name steps that never ran: "fetch-usr" (steps that ran: "fetch-user", "pause", "send-email")');
    expect(typo.unusedOverrides).toEqual(["fetch-usr"]);
    expect(calls).toEqual(["fetch-user", "send-email"]); // the real step ran: the override was not used

    // all used: succeeded, nothing unused
    const ok = await runInline(welcome, { input: { userId: "u4" }, stepOverrides: { "fetch-user": { email: "m@t.c" } } });
    expect([ok.succeeded, ok.unusedOverrides]).toEqual([true, []]);

    // the handler threw before reaching a step: its own error stands, the override is listed
    const early = await runInline(parent, { input: 1, stepOverrides: { child: 2, fire: "id", "after-approval": 1 } });
    expect(early.error?.message).toMatch(/waitForEvent\("approval"\)/);
    expect(early.unusedOverrides).toEqual(["after-approval"]);

    await expect(runInline(welcome, { input: { userId: "u5" }, stepOverides: {} } as never)).rejects.toThrow(/runInline: options\.stepOverides is not an option \(did you mean stepOverrides\?\)/);
    await expect(runInline(welcome, { input: { userId: "u5" }, stepOverrides: ["fetch-user"] as never })).rejects.toThrow(/options\.stepOverrides must be an object/);
  });
});
