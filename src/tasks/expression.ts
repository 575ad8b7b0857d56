/**
 * Lazy expressions: what calling a task returns.
 *
 * Terminology:
 * - *expression*: a lazy description of a value; nothing runs until a scheduler evaluates it.
 * - *call expression*: `t(a, b)`; refers to its task by full name, so evaluation uses the
 *   definition registered at evaluation time.
 * - *lazy structure*: an array or plain object with expressions somewhere inside; the scheduler
 *   resolves those before a body sees the value.
 */
import { EXPRESSION_BRAND, isExpressionValue, isTaskValue } from "./registry.js";
import type { TaskHandle } from "./task-handle.js";

/** A class of errors that `catchError` matches (any constructor of an `Error`). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** The node of an expression graph; see {@link Expression.node}. */
export type ExpressionNode =
  | { readonly kind: "call"; readonly task: TaskHandle; readonly args: readonly unknown[] }
  | { readonly kind: "get"; readonly target: unknown; readonly key: string | number }
  | { readonly kind: "cond"; readonly predicate: unknown; readonly then: unknown; readonly otherwise: unknown }
  | { readonly kind: "seq"; readonly items: readonly unknown[] }
  | {
      readonly kind: "catch";
      readonly expr: unknown;
      readonly classes: readonly ErrorClass[];
      readonly handler: TaskHandle;
    }
  | { readonly kind: "map"; readonly task: TaskHandle; readonly list: unknown };

/**
 * A lazy value of type `T`. Built by calling a task (`add(1, 2)`), by `expr.get(key)` or by the
 * control-flow helpers; evaluated by `scheduler.run(expr)`.
 *
 * @example
 * const total = add(1, 2);            // Expression<number>, nothing ran yet
 * const first = pair(1, 2).get(0);    // Expression<number>
 * await scheduler.run(total);         // 3
 */
export class Expression<T> {
  /** Phantom: the type of the value this expression evaluates to (never set at run time). */
  declare readonly __result?: T;
  /** Brand shared by every copy of durun (see `isExpressionValue`). */
  readonly [EXPRESSION_BRAND] = true as const;
  /** The graph node (internal; the scheduler reads it). */
  readonly node: ExpressionNode;

  /** @internal Use a task call or the control-flow helpers to build expressions. */
  constructor(node: ExpressionNode) {
    this.node = node;
  }

  /**
   * A lazy index or property access on this expression's value.
   *
   * @example
   * const stats = summarize(data);      // Expression<{ count: number }>
   * const count = stats.get("count");   // Expression<number>
   */
  get<K extends keyof T & (string | number)>(key: K): Expression<T[K]> {
    return new Expression<T[K]>({ kind: "get", target: this, key });
  }

  /** A short human description, e.g. `add(1, <expr>)`. */
  toString(): string {
    return describeExpression(this);
  }
}

/** True when `v` is an array or a plain object (the structures the scheduler walks into). */
export function isPlainStructure(v: unknown): v is Record<string, unknown> | unknown[] {
  if (Array.isArray(v)) return true;
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * True when `v` is an expression or a structure (array, plain object, Map, Set) containing one
 * at any depth. Terminates on cyclic values: each structure is entered once (one seen at a
 * second place holds no expression, or the walk would have stopped at the first); the cycle
 * itself is reported by the encoder's `SerializationError` when the value is stored.
 */
export function containsExpression(v: unknown): boolean {
  if (isExpressionValue(v)) return true;
  if (typeof v !== "object" || v === null) return false;
  return walkContains(v, null);
}

/** Walks a structure; `seen` is created on the first nested structure (flat lists need none). */
function walkContains(v: object, seen: Set<object> | null): boolean {
  const child = (x: unknown): boolean => {
    if (isExpressionValue(x)) return true;
    if (typeof x !== "object" || x === null) return false;
    if (seen === null) seen = new Set<object>([v]);
    if (seen.has(x)) return false;
    seen.add(x);
    return walkContains(x, seen);
  };
  if (Array.isArray(v)) {
    for (const item of v) if (child(item)) return true;
  } else if (v instanceof Map) {
    for (const [k, x] of v as Map<unknown, unknown>) if (child(x) || child(k)) return true;
  } else if (v instanceof Set) {
    for (const x of v as Set<unknown>) if (child(x)) return true;
  } else if (isPlainStructure(v)) {
    for (const key in v) if (child((v as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** Short text for messages and the execution log. */
export function describeExpression(e: Expression<unknown>, depth = 0): string {
  const n = e.node;
  const sub = (v: unknown): string => describeValue(v, depth + 1);
  switch (n.kind) {
    case "call":
      return `${n.task.fullName}(${n.args.map(sub).join(", ")})`;
    case "get":
      return `${sub(n.target)}[${JSON.stringify(n.key)}]`;
    case "cond":
      return `cond(${sub(n.predicate)}, ...)`;
    case "seq":
      return `seq(${n.items.length} items)`;
    case "catch":
      return `catchError(${sub(n.expr)}, ${n.handler.fullName})`;
    case "map":
      return `map(${n.task.fullName}, ${sub(n.list)})`;
  }
}

/** Short text of an argument value (truncated). */
export function describeValue(v: unknown, depth = 0): string {
  if (isExpressionValue(v)) return depth > 2 ? "<expr>" : describeExpression(v as Expression<unknown>, depth);
  if (isTaskValue(v)) return `<task ${(v as unknown as TaskHandle).fullName}>`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === "bigint") return `${v}n`;
  if (Array.isArray(v)) return depth > 2 ? "[...]" : `[${v.slice(0, 5).map((x) => describeValue(x, depth + 1)).join(", ")}${v.length > 5 ? ", ..." : ""}]`;
  if (isPlainStructure(v)) {
    if (depth > 2) return "{...}";
    const keys = Object.keys(v);
    return `{${keys.slice(0, 5).map((k) => `${k}: ${describeValue((v as Record<string, unknown>)[k], depth + 1)}`).join(", ")}${keys.length > 5 ? ", ..." : ""}}`;
  }
  if (v !== null && typeof v === "object") {
    const path = (v as { path?: unknown }).path;
    const ctor = (v as object).constructor?.name ?? "object";
    return typeof path === "string" ? `${ctor}(${JSON.stringify(path)})` : `<${ctor}>`;
  }
  return String(v);
}
