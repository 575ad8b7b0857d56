import { describe, expectTypeOf, it } from "vitest";
import { catchError, cond, map, seq } from "../../src/tasks/control-flow.js";
import type { Expression } from "../../src/tasks/expression.js";
import { task, type Task } from "../../src/tasks/task.js";
import type { Scheduler } from "../../src/scheduler/scheduler.js";

const add = task("types.add", (a: number, b: number) => a + b);
const double = task("types.double", async (x: number) => 2 * x);
const main = task("types.main", (x: number) => double(add(x, 1)));
const pair = task("types.pair", (s: string) => ({ s, n: add(1, 2), list: [double(3)] }));
const total = task("types.total", (xs: number[], o: { k: number }) => xs.length + o.k);

describe("task types", () => {
  it("infers parameters and the unwrapped result", () => {
    expectTypeOf(add).toEqualTypeOf<Task<[a: number, b: number], number>>();
    expectTypeOf(add(1, 2)).toEqualTypeOf<Expression<number>>();
    expectTypeOf(double(1)).toEqualTypeOf<Expression<number>>();
    expectTypeOf(main(3)).toEqualTypeOf<Expression<number>>();
    expectTypeOf(pair("x")).toEqualTypeOf<Expression<{ s: string; n: number; list: number[] }>>();
  });

  it("accepts values, expressions, and structures containing expressions", () => {
    add(add(1, 2), 3);
    total([1, add(1, 2)], { k: add(3, 4) });
    total(seq([1, 2]), { k: 1 });
  });

  it("rejects wrong argument types at compile time", () => {
    // @ts-expect-error a string is not a number
    add("1", 2);
    // @ts-expect-error an Expression<string> is not a number
    add(pair("x").get("s"), 2);
    // @ts-expect-error too few arguments
    add(1);
    // @ts-expect-error a structure of the wrong shape
    total([1, "2"], { k: 1 });
  });

  it("types get, partial, options, control flow and run", () => {
    expectTypeOf(pair("x").get("n")).toEqualTypeOf<Expression<number>>();
    const inc = add.partial(1);
    expectTypeOf(inc).toEqualTypeOf<Task<[b: number], number>>();
    // @ts-expect-error the bound argument has the wrong type
    add.partial("1");
    expectTypeOf(add.options({ retries: 2 })).toEqualTypeOf<typeof add>();
    expectTypeOf(cond(true, add(1, 2), "no")).toEqualTypeOf<Expression<number | string>>();
    expectTypeOf(seq([add(1, 2), pair("a").get("s")])).toEqualTypeOf<Expression<[number, string]>>();
    expectTypeOf(map(double, [1, 2])).toEqualTypeOf<Expression<number[]>>();
    const handler = task("types.handler", (e: Error) => e.message);
    expectTypeOf(catchError(add(1, 2), RangeError, handler)).toEqualTypeOf<Expression<number | string>>();
    const higher = task("types.apply", (f: Task<[number], number>, x: number) => f(x));
    expectTypeOf(higher(double, 1)).toEqualTypeOf<Expression<number>>();
    // @ts-expect-error a task with other parameter types
    higher(pair, 1);
    const s = null as unknown as Scheduler;
    expectTypeOf(s.run(main(3))).toEqualTypeOf<Promise<number>>();
    expectTypeOf(s.run({ n: add(1, 2), p: [pair("a")] })).toEqualTypeOf<Promise<{ n: number; p: { s: string; n: number; list: number[] }[] }>>();
  });
});
