/**
 * `ctx.step.evaluate`: a lazy-task expression evaluated as a durable step, with the call cache of
 * the worker's `db` (and of `runInline`'s).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { task } from "../../src/tasks/task.js";
import { openStore } from "../../src/store/open-store.js";
import { CanceledError, defineWorkflow, runInline, type WorkflowContext } from "./api.js";
import { useDurableEnv } from "./setup.js";

const env = useDurableEnv();
const dir = mkdtempSync(join(tmpdir(), "durun-evaluate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const calls = { double: 0, sum: 0 };
const double = task("evaluateTestDouble", (x: number) => {
  calls.double++;
  return x * 2;
});
const sum = task("evaluateTestSum", (xs: number[]) => {
  calls.sum++;
  return xs.reduce((a, b) => a + b, 0);
});
const graph = (n: number) => sum(Array.from({ length: n }, (_, i) => double(i + 1)));

const handlerRuns = { count: 0 };
const wf = defineWorkflow(
  "evaluate-graph",
  { maxAttempts: 2, retry: { backoffMs: 10 } },
  async (ctx: WorkflowContext<{ n: number; failFirstAttempt: boolean }>) => {
    handlerRuns.count++;
    const total = await ctx.step.evaluate("graph", graph(ctx.input.n));
    if (ctx.input.failFirstAttempt && ctx.run.attempt === 1) throw new Error("flaky after the evaluate step");
    return { total };
  },
);

async function executions(db: string): Promise<number> {
  const store = openStore(db);
  try {
    return (await store.listExecutions({ limit: 1000 })).length;
  } finally {
    await store.close();
  }
}

describe("ctx.step.evaluate on a worker", () => {
  it("evaluates the graph once per run, not again on a retry, and a later run gets cache hits", async () => {
    calls.double = calls.sum = handlerRuns.count = 0;
    const db = join(dir, "worker.db");
    const worker = await env.worker({ db });
    const client = env.client();

    const first = await client.emitWorkflow(wf, { n: 3, failFirstAttempt: true });
    expect(await first.result({ timeoutMs: 10_000 })).toEqual({ total: 12 });
    expect((await client.getRun(first.id))?.attempt).toBe(2);
    expect(handlerRuns.count).toBe(2);
    expect(calls).toEqual({ double: 3, sum: 1 });
    const steps = await client.getRunSteps(first.id);
    expect(steps.map((s) => [s.name, s.status, s.output])).toEqual([["graph", "succeeded", 12]]);

    const second = await client.emitWorkflow(wf, { n: 3, failFirstAttempt: false });
    expect(await second.result({ timeoutMs: 10_000 })).toEqual({ total: 12 });
    // a different run: evaluated again, but every call is a cache hit
    expect(calls).toEqual({ double: 3, sum: 1 });

    const third = await client.emitWorkflow(wf, { n: 4, failFirstAttempt: false });
    expect(await third.result({ timeoutMs: 10_000 })).toEqual({ total: 20 });
    expect(calls).toEqual({ double: 4, sum: 2 });

    await worker.stop(); // closes the scheduler
    // one execution per run: the retry of the first run answered the step from Redis
    expect(await executions(db)).toBe(3);
  });

  it("a canceled run does not start the evaluation", async () => {
    calls.double = calls.sum = 0;
    const ac = new AbortController();
    ac.abort(new CanceledError("canceled before the step"));
    const r = await runInline(wf, { input: { n: 2, failFirstAttempt: false }, signal: ac.signal });
    expect(r.succeeded).toBe(false);
    expect(r.error).toBeInstanceOf(CanceledError);
    expect(calls).toEqual({ double: 0, sum: 0 });
  });
});

describe("ctx.step.evaluate under runInline", () => {
  it("uses an in-memory cache by default, and a shared one with db", async () => {
    calls.double = calls.sum = 0;
    const a = await runInline(wf, { input: { n: 2, failFirstAttempt: false } });
    expect(a).toMatchObject({ succeeded: true, output: { total: 6 } });
    expect(a.steps.map((s) => [s.name, s.status, s.output])).toEqual([["graph", "succeeded", 6]]);
    await runInline(wf, { input: { n: 2, failFirstAttempt: false } });
    expect(calls).toEqual({ double: 4, sum: 2 }); // nothing shared between in-memory caches

    const db = join(dir, "inline.db");
    calls.double = calls.sum = 0;
    await runInline(wf, { input: { n: 2, failFirstAttempt: false }, db });
    const again = await runInline(wf, { input: { n: 2, failFirstAttempt: false }, db });
    expect(again.output).toEqual({ total: 6 });
    expect(calls).toEqual({ double: 2, sum: 1 });
    expect(await executions(db)).toBe(2);
  });

  it("stepOverrides replace an evaluate step", async () => {
    calls.double = calls.sum = 0;
    const r = await runInline(wf, { input: { n: 2, failFirstAttempt: false }, stepOverrides: { graph: 100 } });
    expect(r.output).toEqual({ total: 100 });
    expect(calls).toEqual({ double: 0, sum: 0 });
  });
});
