/**
 * A tour of lazy control flow: `cond`, `seq`, `catchError` and `map`.
 *
 *   node dist/cli/main.js run examples/control-flow.ts main --n 7
 *
 * Each helper builds an expression; nothing runs until the scheduler evaluates it, and only
 * what is needed runs: `cond` evaluates one branch, `catchError` calls its handler only on
 * failure.
 */
import { task, cond, seq, catchError, map } from "durun";

/** `true` for even numbers. */
export const isEven = task("isEven", (n: number) => n % 2 === 0);

/** Describes a number; used as either branch of `cond`. */
export const describe = task("describe", (n: number, kind: string) => `${n} is ${kind}`);

/** A step of a sequence: returns its label and the time it ran. */
export const step = task("step", (label: string) => `${label} at ${new Date().toISOString()}`);

/** Squares a number; applied to a list with `map`. */
export const square = task("square", (n: number) => n * n);

/** Sums a list of numbers. */
export const sum = task("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));

/** Divides, failing with a RangeError on zero. */
export const divide = task("divide", (a: number, b: number) => {
  if (b === 0) throw new RangeError(`cannot divide ${a} by zero`);
  return a / b;
});

/** The handler of `catchError`: receives the error and returns a replacement value. */
export const recover = task("recover", (error: Error) => `recovered from: ${error.message}`);

/** Runs the tour for `n`. */
export const main = task("main", (n: number = 7) => ({
  // only the chosen branch is evaluated
  parity: cond(isEven(n), describe(n, "even"), describe(n, "odd")),
  // evaluated in order, one after another
  steps: seq([step("fetch"), step("parse"), step("report")]),
  // every element in parallel, then fan in
  sumOfSquares: sum(map(square, [1, 2, 3, n])),
  // a failure replaced by the handler's result
  safeDivision: catchError(divide(n, 0), RangeError, recover),
}));
