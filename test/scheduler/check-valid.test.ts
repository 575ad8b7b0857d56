import { describe, expect, it } from "vitest";
import { task } from "../../src/tasks/task.js";
import { cached, makeScheduler, ns, ran } from "./helpers.js";

describe("scheduler: full vs shallow checking", () => {
  function define(checkValid: "full" | "shallow") {
    const namespace = ns();
    const counter = { n: 0 };
    // `cache: false` below a cached parent runs in every run: with either checking the parent's
    // recorded result is evaluated again, so the uncached sub-call runs every time (`whole`,
    // without it, shows shallow checking reusing the final result whole).
    const tick = task("tick", (x: number) => {
      counter.n++;
      return x;
    }, { namespace, cache: false });
    const leaf = task("leaf", (x: number) => x * 2, { namespace });
    const main = task("main", (x: number) => [leaf(x), tick(x)], { namespace, checkValid });
    const half = task("half", (x: number) => x / 2, { namespace });
    const whole = task("whole", (x: number) => [leaf(x), half(x)], { namespace, checkValid });
    return { namespace, counter, main, leaf, whole };
  }

  it("full: re-evaluates the recorded result, visiting every sub-call", async () => {
    const { counter, main } = define("full");
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(main(2))).toEqual([4, 2]);
    events.length = 0;
    expect(await scheduler.run(main(2))).toEqual([4, 2]);
    expect(counter.n).toBe(2);
    expect(cached(events).sort()).toEqual(["leaf", "main"]);
    expect(ran(events)).toEqual(["tick"]);
  });

  it("shallow: reuses the final result whole while every reached task is unchanged", async () => {
    const { whole, namespace } = define("shallow");
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(whole(2))).toEqual([4, 1]);
    events.length = 0;
    expect(await scheduler.run(whole(2))).toEqual([4, 1]);
    expect(cached(events)).toEqual(["whole"]);
    expect(ran(events)).toEqual([]);

    // A task reached below changed: the whole result is not reused; the recorded result is
    // evaluated again, so only the changed sub-task runs.
    task("leaf", (x: number) => x * 3, { namespace });
    events.length = 0;
    expect(await scheduler.run(whole(2))).toEqual([6, 1]);
    expect(ran(events)).toEqual(["leaf"]);
    expect(cached(events).sort()).toEqual(["half", "whole"]);

    // And the new final result is recorded for the next run.
    events.length = 0;
    expect(await scheduler.run(whole(2))).toEqual([6, 1]);
    expect(ran(events)).toEqual([]);
  });

  it("shallow: a cache: false task reached below runs in every run (no whole reuse)", async () => {
    const { counter, main } = define("shallow");
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(main(2))).toEqual([4, 2]);
    for (const n of [2, 3]) {
      events.length = 0;
      expect(await scheduler.run(main(2))).toEqual([4, 2]);
      expect(counter.n).toBe(n);
      expect(ran(events)).toEqual(["tick"]);
      expect(cached(events).sort()).toEqual(["leaf", "main"]);
    }
  });

  it("shallow: a call made with t.options({ cache: false }) below runs in every run (the task itself is cached)", async () => {
    const namespace = ns();
    const counter = { n: 0 };
    const tick = task("tick", (x: number) => {
      counter.n++;
      return x;
    }, { namespace });
    const leaf = task("leaf", (x: number) => x * 2, { namespace });
    const main = task("main", (x: number) => [leaf(x), tick.options({ cache: false })(x)], { namespace, checkValid: "shallow" });
    const { scheduler, events } = makeScheduler();
    expect(await scheduler.run(main(2))).toEqual([4, 2]);
    expect(counter.n).toBe(1);
    for (const n of [2, 3]) {
      events.length = 0;
      expect(await scheduler.run(main(2))).toEqual([4, 2]);
      expect(counter.n).toBe(n);
      expect(ran(events)).toEqual(["tick"]);
      expect(cached(events).sort()).toEqual(["leaf", "main"]);
    }
    // the same task called without the option is cached as usual
    const plain = task("plain", (x: number) => [tick(x)], { namespace, checkValid: "shallow" });
    expect(await scheduler.run(plain(5))).toEqual([5]);
    events.length = 0;
    expect(await scheduler.run(plain(5))).toEqual([5]);
    expect(ran(events)).toEqual([]);
    expect(cached(events)).toEqual(["plain"]);
  });
});
