import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { createClient, defineWorkflow, runInline, type RunHandle, type WorkflowContext, type WorkflowDefinition } from "./api.js";

describe("durable types", () => {
  it("infers the input from the schema and the output from the handler", () => {
    const wf = defineWorkflow("types-schema", { input: z.object({ userId: z.string(), n: z.number().default(1) }) }, async (ctx) => {
      expectTypeOf(ctx.input).toEqualTypeOf<{ userId: string; n: number }>();
      expectTypeOf(ctx.run.attempt).toBeNumber();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      return { sent: true as const };
    });
    expectTypeOf(wf).toEqualTypeOf<WorkflowDefinition<{ userId: string; n: number }, { sent: true }>>();
  });

  it("infers the input from the handler's annotation", () => {
    const wf = defineWorkflow("types-annotated", {}, async (ctx: WorkflowContext<{ a: number }>) => {
      const user = await ctx.step.run("s", () => ({ email: "x" }));
      expectTypeOf(user).toEqualTypeOf<{ email: string }>();
      const asyncStep = await ctx.step.run("t", async () => 42);
      expectTypeOf(asyncStep).toBeNumber();
      const ev = await ctx.step.waitForEvent<{ ok: boolean }>("w", { event: "e" });
      expectTypeOf(ev).toEqualTypeOf<{ ok: boolean }>();
      return ctx.input.a * 2;
    });
    expectTypeOf(wf).toEqualTypeOf<WorkflowDefinition<{ a: number }, number>>();
    const client = createClient({ url: "redis://127.0.0.1:1" });
    expectTypeOf(client.emitWorkflow(wf, { a: 1 })).resolves.toEqualTypeOf<RunHandle<number>>();
    expectTypeOf(client.emitWorkflow("by-name", { anything: true })).resolves.toEqualTypeOf<RunHandle<unknown>>();
    expectTypeOf(runInline(wf, { input: { a: 1 } })).resolves.toHaveProperty("output").toEqualTypeOf<number | undefined>();
  });

  it("child workflows carry their output type", () => {
    const child = defineWorkflow("types-child", {}, async (ctx: WorkflowContext<string>) => ctx.input.length);
    defineWorkflow("types-parent", {}, async (ctx) => {
      const n = await ctx.step.runWorkflow("c", child, "abc");
      expectTypeOf(n).toBeNumber();
      const id = await ctx.step.emitWorkflow("d", child, "abc");
      expectTypeOf(id).toBeString();
    });
  });
});
