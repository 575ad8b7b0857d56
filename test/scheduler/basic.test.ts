import { describe, expect, it } from "vitest";
import { task } from "../../src/tasks/task.js";
import { makeScheduler, ns, ran, cached } from "./helpers.js";

describe("scheduler: evaluation and the call cache", () => {
  it("evaluates nested calls and reuses them on a second run", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    const double = task("double", async (x: number) => 2 * x, { namespace });
    const main = task("main", (x: number) => double(add(x, 1)), { namespace });
    const { scheduler, events } = makeScheduler();

    expect(await scheduler.run(main(3))).toBe(8);
    expect(ran(events)).toEqual(["main", "add", "double"]);
    events.length = 0;

    expect(await scheduler.run(main(3))).toBe(8);
    expect(ran(events)).toEqual([]);
    expect(cached(events).sort()).toEqual(["add", "double", "main"]);

    const exec = await scheduler.db.getExecution(scheduler.lastExecutionId!);
    expect(exec).toMatchObject({ taskName: `${namespace}.main`, status: "done", callCount: 3 });
  });

  it("resolves expressions nested in arrays and objects at any depth, in arguments and results", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const sum = task("sum", (o: { xs: number[]; deep: { y: number }[] }) => o.xs.reduce((a, b) => a + b, 0) + o.deep[0]!.y, { namespace });
    const pair = task("pair", (x: number) => ({ a: inc(x), list: [inc(x + 1), { b: inc(x + 2) }] }), { namespace });
    const { scheduler } = makeScheduler();

    expect(await scheduler.run(sum({ xs: [1, inc(1), inc(inc(1))], deep: [{ y: inc(9) }] }))).toBe(1 + 2 + 3 + 10);
    expect(await scheduler.run(pair(1))).toEqual({ a: 2, list: [3, { b: 4 }] });
    expect(await scheduler.run([inc(1), { k: inc(2) }, 5])).toEqual([2, { k: 3 }, 5]);
  });
});
