import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { defineWorkflow, startWorker, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const listed = defineWorkflow("client-listed", { maxConcurrency: Infinity, queue: "lists", maxAttempts: 1 }, async (ctx: WorkflowContext<{ i: number }>) => {
  if (ctx.input.i % 3 === 0) throw new Error(`fail ${ctx.input.i}`);
  return ctx.input.i;
});
const other = defineWorkflow("client-other", { maxConcurrency: 4, cron: [], triggers: [{ event: "x.happened" }] }, async () => "other");

describe("durable: client inspection and the workflow registry", () => {
  const env = useDurableEnv();

  it("listRuns: newest first, filtered by workflow and status, with paging", async () => {
    await env.worker({ concurrency: 4 });
    const client = env.client();
    const handles = [];
    for (let i = 1; i <= 9; i++) handles.push(await client.emitWorkflow(listed, { i }));
    await client.emitWorkflow(other, undefined).then((h) => h.result({ timeoutMs: 10_000 }));
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 10_000 }).catch(() => undefined)));
    const ids = handles.map((h) => h.id).reverse();
    const all = await client.listRuns({ workflow: "client-listed" });
    expect(all.map((r) => r.id)).toEqual(ids);
    const page1 = await client.listRuns({ workflow: "client-listed", limit: 4 });
    const page2 = await client.listRuns({ workflow: "client-listed", limit: 4, offset: 4 });
    const page3 = await client.listRuns({ workflow: "client-listed", limit: 4, offset: 8 });
    expect([...page1, ...page2, ...page3].map((r) => r.id)).toEqual(ids);
    expect(page3).toHaveLength(1);
    const failed = await client.listRuns({ workflow: "client-listed", status: "failed" });
    expect(failed.map((r) => (r.input as { i: number }).i)).toEqual([9, 6, 3]);
    expect(failed[0]?.error?.message).toBe("fail 9");
    const failedPage = await client.listRuns({ workflow: "client-listed", status: "failed", limit: 1, offset: 1 });
    expect(failedPage.map((r) => (r.input as { i: number }).i)).toEqual([6]);
    const succeeded = await client.listRuns({ status: "succeeded" });
    expect(succeeded).toHaveLength(7);
    expect(succeeded[0]?.workflow).toBe("client-other");
    expect((await client.listRuns()).length).toBe(10);
    expect((await client.listRuns({ limit: 2 })).length).toBe(2);
    const run = all[0]!;
    expect(run.queue).toBe("lists");
    expect(run.createdAt).toBeInstanceOf(Date);
  });

  it("getStats counts runs by status", async () => {
    const client = env.client();
    await client.emitWorkflow(listed, { i: 1 });
    await client.emitWorkflow(listed, { i: 2 }, { runAt: new Date(Date.now() + 60_000) });
    let stats = await client.getStats();
    expect(stats.byStatus).toEqual({ scheduled: 1, queued: 1, running: 0, succeeded: 0, failed: 0, canceled: 0 });
    expect(stats.total).toBe(2);
    await env.worker();
    await waitFor("the queued run", async () => (await client.getStats()).byStatus.succeeded === 1);
    stats = await client.getStats();
    expect(stats.byStatus.queued).toBe(0);
    expect(stats.workflows).toBe(2);
    expect(stats.queues).toEqual({ lists: 0, default: 0 });
  });

  it("a worker publishes its workflows' metadata under its app; stale entries of the app are removed", async () => {
    const client = env.client();
    await env.worker({ app: "billing" });
    const metas = await client.listWorkflows();
    expect(metas.map((m) => m.name)).toEqual(["client-listed", "client-other"]);
    const meta = await client.getWorkflowMeta("client-other");
    expect(meta).toMatchObject({ name: "client-other", app: "billing", queue: "default", maxConcurrency: 4, maxAttempts: 3, triggers: [{ event: "x.happened" }] });
    expect((await client.getWorkflowMeta("client-listed"))?.maxConcurrency).toBe(Infinity);
    expect(await client.getWorkflowMeta("nope")).toBeUndefined();

    // simulate an older deployment of the same app that registered a workflow since removed,
    // and another app's workflow that must survive
    const redis = new Redis(env.url);
    const base = `{${env.prefix}}:`;
    const stale = { name: "client-removed", app: "billing", queue: "default", maxConcurrency: 1, maxAttempts: 3, retry: { backoffMs: 1, maxBackoffMs: 1, factor: 1 }, cron: [], triggers: [{ event: "gone" }], hasInputSchema: false, updatedAt: 0 };
    const foreign = { ...stale, name: "other-app-flow", app: "shipping", triggers: [] };
    await redis.hset(`${base}workflows`, "client-removed", JSON.stringify(stale), "other-app-flow", JSON.stringify(foreign));
    await redis.sadd(`${base}app:billing`, "client-removed");
    await redis.sadd(`${base}app:shipping`, "other-app-flow");
    await redis.sadd(`${base}triggers:gone`, "client-removed");
    expect((await client.listWorkflows()).map((m) => m.name)).toContain("client-removed");

    const w2 = await startWorker({ app: "billing", url: env.url, prefix: env.prefix });
    await w2.stop();
    const names = (await client.listWorkflows()).map((m) => m.name);
    expect(names).toEqual(["client-listed", "client-other", "other-app-flow"]);
    expect(await redis.smembers(`${base}triggers:gone`)).toEqual([]);
    redis.disconnect();
  });

  it("RunHandle.getState reflects progress and result() times out with TimeoutError", async () => {
    const client = env.client();
    const h = await client.emitWorkflow(listed, { i: 1 });
    expect((await h.getState()).status).toBe("queued");
    await expect(h.result({ timeoutMs: 100 })).rejects.toThrow(/did not finish within 100 ms/);
    await env.worker();
    expect(await h.result({ timeoutMs: 10_000 })).toBe(1);
  });
});
