/**
 * Lazy control flow: `cond`, `seq`, `catchError`, `map`. Each builds an expression; the
 * scheduler evaluates only what the flow requires (the chosen branch, one item after another,
 * the handler only on a matching error, every element in parallel).
 */
import { UsageError } from "../errors.js";
import { Expression, type ErrorClass } from "./expression.js";
import { isTaskValue } from "./registry.js";
import type { Task } from "./task.js";
import type { TaskHandle } from "./task-handle.js";
import type { Lazy, Resolved } from "./types.js";

/**
 * Evaluates `predicate`, then only the chosen branch.
 *
 * @example
 * const report = cond(isLarge(data), summarize(data), listAll(data));
 */
export function cond<P, A, B>(predicate: P, then: A, otherwise: B): Expression<Resolved<A> | Resolved<B>> {
  return new Expression({ kind: "cond", predicate, then, otherwise });
}

/**
 * Evaluates expressions in order, one after another (the next is not started before the previous
 * finished); resolves to the list of their values.
 *
 * @example
 * const [created, filled] = await scheduler.run(seq([createTable(), fillTable()]));
 */
export function seq<const T extends readonly unknown[]>(items: T): Expression<{ -readonly [K in keyof T]: Resolved<T[K]> }> {
  if (!Array.isArray(items)) throw new UsageError("seq(items): items must be an array of expressions or values");
  return new Expression({ kind: "seq", items: [...items] });
}

/**
 * Evaluates `expr`; if it fails with an error of one of the given classes (the original error
 * thrown by the failing body, not the `TaskError` wrapper), evaluates `handler(error)` instead.
 *
 * @example
 * const safe = catchError(fetchPage(url), [TypeError, RangeError], fallbackPage);
 */
export function catchError<T, H>(
  expr: T,
  errorClasses: ErrorClass | readonly ErrorClass[],
  handler: Task<[Error], H> | Task<[never], H>,
): Expression<Resolved<T> | Resolved<H>> {
  const classes = Array.isArray(errorClasses) ? [...(errorClasses as readonly ErrorClass[])] : [errorClasses as ErrorClass];
  for (const c of classes) {
    if (typeof c !== "function") throw new UsageError("catchError(expr, errorClasses, handler): errorClasses must be error classes");
  }
  if (!isTaskValue(handler)) throw new UsageError("catchError(expr, errorClasses, handler): handler must be a task");
  return new Expression({ kind: "catch", expr, classes, handler: handler as unknown as TaskHandle });
}

/**
 * Applies a task to every element of a list (or of an expression that evaluates to a list); the
 * calls run in parallel. Resolves to the list of results.
 *
 * @example
 * const counts = map(countWords, listFiles(dir));
 */
export function map<T, R>(t: Task<[T], R>, list: Lazy<readonly T[]> | Expression<T[]>): Expression<R[]> {
  if (!isTaskValue(t)) throw new UsageError("map(task, list): the first argument must be a task");
  return new Expression({ kind: "map", task: t as unknown as TaskHandle, list });
}
