/**
 * Timer precision: delayed runs, retry backoffs and sleeps start within a few ms of their due
 * time, not on the next reaper interval (here 5 s, far beyond every bound asserted).
 */
import { describe, expect, it } from "vitest";
import { defineWorkflow, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";
import { waitFor } from "../helpers/deadline.js";

const env = useDurableEnv();
const SLACK_MS = 250;
const slowReaper = { reaperIntervalMs: 5000 };

describe("timers fire near their due time, whatever reaperIntervalMs", () => {
  it("a run emitted with runAt = now + 300 ms starts within 250 ms after runAt", async () => {
    const started: number[] = [];
    const wf = defineWorkflow("timers-delayed", {}, async () => {
      started.push(Date.now());
      return "ok";
    });
    await env.worker(slowReaper);
    const client = env.client();
    const runAt = Date.now() + 300;
    const h = await client.emitWorkflow(wf, undefined, { runAt: new Date(runAt) });
    await waitFor("the delayed run to start", () => started.length > 0, runAt - Date.now() + 2000);
    expect(started[0]! - runAt).toBeGreaterThanOrEqual(0);
    expect(started[0]! - runAt).toBeLessThan(SLACK_MS);
    expect(await h.result({ timeoutMs: 5000 })).toBe("ok");
  });

  it("a run emitted with runAt before the worker starts is woken for too", async () => {
    const started: number[] = [];
    const wf = defineWorkflow("timers-delayed-early", {}, async () => {
      started.push(Date.now());
    });
    const client = env.client();
    await env.worker({ ...slowReaper, queues: ["other"] }); // publishes the metadata; serves no queue of wf
    const runAt = Date.now() + 400;
    await client.emitWorkflow(wf, undefined, { runAt: new Date(runAt) });
    await env.worker(slowReaper);
    await waitFor("the delayed run to start", () => started.length > 0, runAt - Date.now() + 2000);
    expect(started[0]! - runAt).toBeGreaterThanOrEqual(0);
    expect(started[0]! - runAt).toBeLessThan(SLACK_MS);
  });

  it("a 200 ms retry backoff starts the next attempt within 250 ms after it is due", async () => {
    const failedAt: number[] = [];
    const started: number[] = [];
    const wf = defineWorkflow("timers-retry", { maxAttempts: 2, retry: { backoffMs: 200 } }, async (ctx) => {
      started.push(Date.now());
      if (ctx.run.attempt === 1) {
        failedAt.push(Date.now());
        throw new Error("first attempt fails");
      }
      return ctx.run.attempt;
    });
    await env.worker(slowReaper);
    const h = await env.client().emitWorkflow(wf, undefined);
    expect(await h.result({ timeoutMs: 4000 })).toBe(2);
    const late = started[1]! - (failedAt[0]! + 200);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(SLACK_MS);
  });

  it("a 300 ms sleep resumes within 250 ms after it ends", async () => {
    const executions: number[] = [];
    const wf = defineWorkflow("timers-sleep", {}, async (ctx: WorkflowContext<undefined>) => {
      executions.push(Date.now());
      await ctx.step.sleep("nap", 300);
      return executions.length;
    });
    await env.worker(slowReaper);
    const h = await env.client().emitWorkflow(wf, undefined);
    expect(await h.result({ timeoutMs: 4000 })).toBe(2);
    const late = executions[1]! - (executions[0]! + 300);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(SLACK_MS);
  });
});
