import { describe, expect, it } from "vitest";
import { task, type Task } from "../../src/tasks/task.js";
import type { Expression } from "../../src/tasks/expression.js";
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

  it("resolves expressions in Maps (keys and values) and Sets returned by a body, as in arguments", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const make = task("make", (x: number) => new Map<unknown, unknown>([["a", inc(x)], [inc(10), new Set([inc(20), 7])], ["l", [new Set([inc(30)])]]]), { namespace });
    const size = task("size", (m: Map<string, number>) => m.get("k")! + m.size, { namespace });
    const { scheduler, events } = makeScheduler();
    const expected = new Map<unknown, unknown>([["a", 2], [11, new Set([21, 7])], ["l", [new Set([31])]]]);
    expect(await scheduler.run(make(1))).toEqual(expected);
    expect(await scheduler.run(size(new Map([["k", inc(4)]]) as unknown as Map<string, number>))).toBe(6);
    events.length = 0;
    expect(await scheduler.run(make(1))).toEqual(expected); // reused: the stored result holds the expressions
    expect(ran(events)).toEqual([]);
  });
});

describe("scheduler: reacting to code changes", () => {
  it("re-runs only the changed sub-task, and reverting restores cache hits", async () => {
    const namespace = ns();
    const bodyA = (x: number) => x + 1;
    const bodyB = (x: number) => x + 100;
    task("sub", bodyA, { namespace });
    const sub = task("sub", bodyA, { namespace });
    const other = task("other", (x: number) => x * 10, { namespace });
    const main = task("main", (x: number) => [sub(x), other(x)], { namespace });
    const { scheduler, events } = makeScheduler();

    expect(await scheduler.run(main(1))).toEqual([2, 10]);
    expect(ran(events).sort()).toEqual(["main", "other", "sub"]);

    events.length = 0;
    task("sub", bodyB, { namespace }); // a new body under the same name replaces the definition
    expect(await scheduler.run(main(1))).toEqual([101, 10]);
    expect(ran(events)).toEqual(["sub"]);
    expect(cached(events).sort()).toEqual(["main", "other"]);

    events.length = 0;
    task("sub", bodyA, { namespace }); // revert
    expect(await scheduler.run(main(1))).toEqual([2, 10]);
    expect(ran(events)).toEqual([]);
    expect(cached(events).sort()).toEqual(["main", "other", "sub"]);
  });

  it("uses `version` instead of the source when set", async () => {
    const namespace = ns();
    task("v", (x: number) => x + 1, { namespace, version: "1" });
    const v = task("v", (x: number) => x + 2, { namespace, version: "1" });
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(v(1))).toBe(3);
    task("v", (x: number) => x + 3, { namespace, version: "1" });
    events.length = 0;
    expect(await scheduler.run(v(1))).toBe(3); // same version: the cached result is reused
    expect(ran(events)).toEqual([]);
    task("v", (x: number) => x + 3, { namespace, version: "2" });
    expect(await scheduler.run(v(1))).toBe(4);
  });
});

describe("scheduler: recursion, higher-order tasks, deduplication", () => {
  it("memoises recursion: fib(30) makes 31 distinct calls, each run once", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    let bodies = 0;
    const fib: Task<[number], number> = task(
      "fib",
      (n: number): number | Expression<number> => {
        bodies++;
        return n < 2 ? n : add(fib(n - 1), fib(n - 2));
      },
      { namespace },
    );
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(fib(30))).toBe(832040);
    expect(bodies).toBe(31);
    expect(events.filter((e) => e.type === "running" && e.taskName.endsWith(".fib"))).toHaveLength(31);

    events.length = 0;
    expect(await scheduler.run(fib(31))).toBe(1346269);
    expect(bodies).toBe(32); // only fib(31) is new
  });

  it("passes tasks as arguments and returns them as results", async () => {
    const namespace = ns();
    const double = task("double", (x: number) => 2 * x, { namespace });
    const square = task("square", (x: number) => x * x, { namespace });
    const apply = task("apply", (f: Task<[number], number>, x: number) => f(x), { namespace });
    const pick = task("pick", (name: string) => (name === "double" ? double : square), { namespace });
    const applyTwice = task("applyTwice", (f: Task<[number], number>, x: number) => f(f(x)), { namespace });
    const { scheduler } = makeScheduler();

    expect(await scheduler.run(apply(double, 5))).toBe(10);
    expect(await scheduler.run(apply(pick("square"), 5))).toBe(25);
    expect(await scheduler.run(applyTwice(square, 3))).toBe(81);
    const t = await scheduler.run(pick("double"));
    expect(await scheduler.run(t(21))).toBe(42);
  });

  it("runs identical calls within one run once", async () => {
    const namespace = ns();
    let count = 0;
    const slow = task("slow", async (x: number) => {
      count++;
      await new Promise((r) => setTimeout(r, 5));
      return x;
    }, { namespace, cache: false });
    const sum = task("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0), { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(sum([slow(1), slow(1), slow(1), slow(2)]))).toBe(5);
    expect(count).toBe(2);
    // cache: false re-runs in the next run, still once per distinct call
    expect(await scheduler.run(sum([slow(1), slow(1)]))).toBe(2);
    expect(count).toBe(3);
  });

  it("run(expr, { cache: false }) re-runs everything but still records", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const main = task("main", (x: number) => inc(inc(x)), { namespace });
    const { scheduler, events } = makeScheduler();
    await scheduler.run(main(1));
    events.length = 0;
    expect(await scheduler.run(main(1), { cache: false })).toBe(3);
    expect(ran(events).sort()).toEqual(["inc", "inc", "main"]);
    events.length = 0;
    await scheduler.run(main(1));
    expect(ran(events)).toEqual([]);
  });
});

describe("scheduler: deep graphs", () => {
  it("evaluates a lazily built chain of 5,000 dependent calls and deep recursion, fresh and cached", async () => {
    const namespace = ns();
    const chain = task("chain", (x: number) => x + 1, { namespace });
    const countdown: Task<[number], string> = task(
      "countdown",
      (n: number): string | Expression<string> => (n === 0 ? "done" : countdown(n - 1)),
      { namespace },
    );
    const { scheduler, events } = makeScheduler();
    for (let round = 0; round < 2; round++) {
      let e: number | Expression<number> = 0;
      for (let i = 0; i < 5000; i++) e = chain(e);
      expect(await scheduler.run(e)).toBe(5000);
      expect(await scheduler.run(countdown(5000))).toBe("done");
    }
    expect(events.filter((e) => e.type === "running")).toHaveLength(10_001);
    expect(events.filter((e) => e.type === "cached")).toHaveLength(10_001);
  });
});
