import { describe, expect, it } from "vitest";
import { TaskError } from "../../src/errors.js";
import { catchError, cond, map, seq } from "../../src/tasks/control-flow.js";
import { task, type Task } from "../../src/tasks/task.js";
import { makeScheduler, ns, ran } from "../scheduler/helpers.js";

class NotFound extends Error {
  override name = "NotFound";
}

describe("lazy control flow", () => {
  it("cond evaluates only the chosen branch", async () => {
    const namespace = ns();
    const isBig = task("isBig", (x: number) => x > 10, { namespace });
    const big = task("big", (x: number) => `big ${x}`, { namespace });
    const small = task("small", (x: number) => `small ${x}`, { namespace });
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(cond(isBig(20), big(20), small(20)))).toBe("big 20");
    expect(ran(events).sort()).toEqual(["big", "isBig"]);
    events.length = 0;
    expect(await scheduler.run(cond(isBig(5), big(5), small(5)))).toBe("small 5");
    expect(ran(events).sort()).toEqual(["isBig", "small"]);
    expect(await scheduler.run(cond(true, 1, small(0)))).toBe(1);
  });

  it("seq evaluates in order, one after another", async () => {
    const namespace = ns();
    const log: string[] = [];
    const step = task("step", async (name: string) => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${name}`);
      return name;
    }, { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(seq([step("a"), step("b"), 3, step("c")]))).toEqual(["a", "b", 3, "c"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("catchError matches the original error class and evaluates the handler", async () => {
    const namespace = ns();
    const fetchPage = task("fetchPage", (url: string): string => {
      if (url === "missing") throw new NotFound(`no page ${url}`);
      if (url === "bad") throw new RangeError("bad url");
      return `page ${url}`;
    }, { namespace });
    const fallback = task("fallback", (e: Error) => `fallback after ${e.name}: ${e.message}`, { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(catchError(fetchPage("home"), NotFound, fallback))).toBe("page home");
    expect(await scheduler.run(catchError(fetchPage("missing"), NotFound, fallback))).toBe("fallback after NotFound: no page missing");
    expect(await scheduler.run(catchError(fetchPage("bad"), [TypeError, RangeError], fallback))).toBe("fallback after RangeError: bad url");
    const err = await scheduler.run(catchError(fetchPage("bad"), NotFound, fallback)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).cause).toBeInstanceOf(RangeError);
  });

  it("catchError works inside a recorded result that is evaluated again", async () => {
    const namespace = ns();
    let n = 0;
    const risky = task("risky", (): string => {
      n++;
      throw new NotFound("gone");
    }, { namespace });
    const handler = task("handler", (e: Error) => `handled ${e.message}`, { namespace });
    const main = task("main", () => catchError(risky(), NotFound, handler), { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(main())).toBe("handled gone");
    expect(await scheduler.run(main())).toBe("handled gone"); // main's result decoded from the store
    expect(n).toBe(2); // the failure is not cached
  });

  it("map applies a task to every element in parallel, over a list or an expression", async () => {
    const namespace = ns();
    let running = 0;
    let peak = 0;
    const square = task("square", async (x: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return x * x;
    }, { namespace });
    const range = task("range", (n: number) => Array.from({ length: n }, (_, i) => i), { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(map(square, [1, 2, 3]))).toEqual([1, 4, 9]);
    expect(peak).toBe(3);
    expect(await scheduler.run(map(square, range(5)))).toEqual([0, 1, 4, 9, 16]);
  });

  it("map and catchError call a partial task with its bound arguments first", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    const label = task("label", (prefix: string, x: number) => `${prefix}${x}`, { namespace });
    const range = task("range", (n: number) => Array.from({ length: n }, (_, i) => i), { namespace });
    const fail = task("fail", (): string => {
      throw new NotFound("gone");
    }, { namespace });
    const fallback = task("fallback", (url: string, e: Error) => `${url}: ${e.message}`, { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(map(add.partial(10), [1, 2, 3]))).toEqual([11, 12, 13]);
    expect(await scheduler.run(map(add.partial(range(1).get(0)), range(3)))).toEqual([0, 1, 2]); // a bound expression
    expect(await scheduler.run(map(label.partial("#"), range(2)))).toEqual(["#0", "#1"]);
    expect(await scheduler.run(catchError(fail(), NotFound, fallback.partial("home")))).toBe("home: gone");
  });

  it("a partial task in a recorded result or passed to a higher-order task keeps its bound arguments", async () => {
    const namespace = ns();
    const add = task("add", (a: number, b: number) => a + b, { namespace });
    const fail = task("fail", (): string => {
      throw new NotFound("gone");
    }, { namespace });
    const fallback = task("fallback", (url: string, e: Error) => `${url}: ${e.message}`, { namespace });
    const main = task("main", (k: number) => map(add.partial(k), [1, 2]), { namespace });
    const safe = task("safe", (url: string) => catchError(fail(), NotFound, fallback.partial(url)), { namespace });
    const apply = task("apply", (f: Task<[number], number>, xs: number[]) => map(f, xs), { namespace });
    const { scheduler } = makeScheduler();
    for (let i = 0; i < 2; i++) {
      // The second run decodes the recorded results (the map and catch nodes) from the store.
      expect(await scheduler.run(main(100))).toEqual([101, 102]);
      expect(await scheduler.run(safe("home"))).toBe("home: gone");
      expect(await scheduler.run(apply(add.partial(5), [1, 2]))).toEqual([6, 7]);
    }
  });

  it("expr.get is a lazy index or property access", async () => {
    const namespace = ns();
    const stats = task("stats", (xs: number[]) => ({ count: xs.length, sum: xs.reduce((a, b) => a + b, 0), xs }), { namespace });
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const { scheduler } = makeScheduler();
    const s = stats([1, 2, 3]);
    expect(await scheduler.run(s.get("count"))).toBe(3);
    expect(await scheduler.run(inc(s.get("sum")))).toBe(7);
    expect(await scheduler.run(s.get("xs").get(2))).toBe(3);
  });

  it("partial binds leading arguments; options returns a copy with options replaced", async () => {
    const namespace = ns();
    let runs = 0;
    const add = task("add", (a: number, b: number) => {
      runs++;
      return a + b;
    }, { namespace });
    const inc = add.partial(1);
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(inc(41))).toBe(42);
    expect(await scheduler.run(add(1, 41))).toBe(42); // the same call: cached
    expect(runs).toBe(1);
    const uncached = add.options({ cache: false });
    expect(await scheduler.run(uncached(1, 41))).toBe(42);
    expect(runs).toBe(2);
    expect(uncached.fullName).toBe(add.fullName);
    expect(() => add.options({ retries: -1 })).toThrow(/option "retries" must be an integer >= 0/);
  });
});
