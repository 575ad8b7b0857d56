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
});
