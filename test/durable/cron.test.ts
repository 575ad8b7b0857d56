import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { defineWorkflow, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const starts: Array<{ at: number; input: unknown }> = [];
let block: Promise<void> | undefined;

defineWorkflow(
  "cron-every-second",
  { cron: [{ id: "tick", expression: "* * * * * *", input: { source: "cron" } }], maxConcurrency: Infinity },
  async (ctx: WorkflowContext<{ source: string }>) => {
    starts.push({ at: Date.now(), input: ctx.input });
    await block;
    return "ticked";
  },
);

describe("durable: cron", () => {
  const env = useDurableEnv();

  it("a six-field every-second expression makes one run per tick, with the schedule's input", async () => {
    const client = env.client();
    await env.worker();
    const t0 = Date.now();
    await waitFor("4 ticks", async () => (await client.listRuns({ workflow: "cron-every-second", status: "succeeded" })).length >= 4, 15_000);
    const runs = await client.listRuns({ workflow: "cron-every-second", limit: 100 });
    const elapsed = (Date.now() - t0) / 1000;
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    const keys = runs.map((r) => r.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    const ticks = keys.map((k) => Number(k!.split(":").pop()));
    for (const t of ticks) expect(t % 1000).toBe(0);
    expect(runs[0]?.input).toEqual({ source: "cron" });
  });

  it("two workers of the same app: one leader, still one run per tick", async () => {
    const client = env.client();
    await env.worker();
    await env.worker();
    await waitFor("4 ticks", async () => (await client.listRuns({ workflow: "cron-every-second", status: "succeeded" })).length >= 4, 15_000);
    const runs = await client.listRuns({ workflow: "cron-every-second", limit: 100 });
    const ticks = runs.map((r) => r.idempotencyKey);
    expect(new Set(ticks).size).toBe(runs.length);
    const tickTimes = ticks.map((k) => Number(k!.split(":").pop()));
    const span = (Math.max(...tickTimes) - Math.min(...tickTimes)) / 1000;
    expect(runs.length).toBeLessThanOrEqual(span + 1);
  });

  it("a tick is skipped while the workflow is at its maxConcurrency", async () => {
    const client = env.client();
    defineWorkflow(
      "cron-limited",
      { cron: [{ expression: "* * * * * *" }], maxConcurrency: 1 },
      async () => {
        await new Promise((r) => setTimeout(r, 2600));
        return "slow";
      },
    );
    await env.worker({ concurrency: 4 });
    await waitFor("a first run", async () => (await client.listRuns({ workflow: "cron-limited" })).length >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 2000));
    const runs = await client.listRuns({ workflow: "cron-limited" });
    // one run holds the only slot for 2.6 s: the ticks meanwhile are skipped, not queued
    expect(runs.filter((r) => r.status === "queued").length).toBeLessThanOrEqual(1);
    expect(runs.length).toBeLessThanOrEqual(2);
  });
});
