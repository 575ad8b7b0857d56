import { describe, expect, it } from "vitest";
import { task } from "../../src/tasks/task.js";
import { makeScheduler, ns, ran, cached } from "./helpers.js";

describe("scheduler: results keep their key order", () => {
  it("a cached result has the key order of the fresh one; key order of arguments does not change the cache key", async () => {
    const namespace = ns();
    const make = task("make", (x: number) => ({ zeta: x, alpha: { y: [x, { c: 1, b: 2 }], b: 2 }, m: new Map([["k2", 1], ["k1", 2]]) }), { namespace });
    const inner = task("inner", (x: number) => ({ second: x, first: x + 1 }), { namespace });
    const outer = task("outer", (x: number) => ({ z: inner(x), a: inner(x + 1) }), { namespace });
    const echo = task("echo", (o: Record<string, number>) => Object.keys(o).join(","), { namespace });
    const { scheduler, events, db } = makeScheduler();
    const shape = (v: { zeta: number; alpha: { y: Array<number | object>; b: number }; m: Map<string, number> }) => [
      Object.keys(v),
      Object.keys(v.alpha),
      Object.keys(v.alpha.y[1] as object),
      [...v.m.keys()],
    ];
    const fresh = await scheduler.run(make(1));
    const fresh2 = await scheduler.run(outer(1));
    const again = makeScheduler({}, db).scheduler; // a new scheduler: results come from the store
    events.length = 0;
    const reused = await again.run(make(1));
    const reused2 = await again.run(outer(1));
    expect(reused).toEqual(fresh);
    expect(shape(reused)).toEqual(shape(fresh));
    expect(shape(reused)).toEqual([["zeta", "alpha", "m"], ["y", "b"], ["c", "b"], ["k2", "k1"]]);
    expect(Object.keys(reused2)).toEqual(["z", "a"]);
    expect(Object.keys(reused2.z)).toEqual(["second", "first"]);
    expect(reused2).toEqual(fresh2);
    // Arguments: the same object with its keys in another order is the same call.
    expect(await scheduler.run(echo({ b: 1, a: 2 }))).toBe("b,a");
    events.length = 0;
    expect(await scheduler.run(echo({ a: 2, b: 1 }))).toBe("b,a");
    expect(ran(events)).toEqual([]);
    expect(cached(events)).toEqual(["echo"]);
  });
});
