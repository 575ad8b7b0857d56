/**
 * Value codecs for tasks and expressions, so they can be arguments, results and stored values.
 *
 * - A task is stored by full name and task hash (plus bound arguments and option overrides);
 *   decoding looks the name up in the registry of this process (a task not defined here
 *   decodes to a reference that fails only when evaluated). Its value hash is the task hash,
 *   so a changed body changes the hash of every value that holds the task.
 * - An expression is stored as its structure (call: task + args; get; cond; seq; catchError
 *   with the error class names; map), so a recorded result that is an expression can be
 *   evaluated again (single reduction). Nothing stored is ever evaluated as code.
 */
import { SerializationError } from "../errors.js";
import { hashString, hashValue, registerValueCodec, type JsonValue } from "../values/codec.js";
import { Expression, isPlainStructure, type ErrorClass, type ExpressionNode } from "./expression.js";
import { isExpressionValue, isTaskValue, lookupDefinition, type CompiledTaskOptions } from "./registry.js";
import { makeTask, resolveTask, taskReference } from "./task.js";
import type { TaskHandle } from "./task-handle.js";

/** Tag of stored tasks. */
export const TASK_TAG = "durun.Task";
/** Tag of stored expressions. */
export const EXPRESSION_TAG = "durun.Expression";
/** Tag of a stored value containing expressions, encoded as one graph. */
export const LAZY_TAG = "durun.Lazy";
const REF_TAG = "durun.R";

/**
 * Wraps a value that contains expressions (in arrays and plain objects) so it is stored as one
 * expression graph: an expression shared by several places is stored once. Decoding gives back
 * the value itself, not the wrapper.
 *
 * @example
 * encodeValue(new LazyValue([step(a), step(a)])); // `step(a)` stored once
 */
export class LazyValue {
  constructor(readonly value: unknown) {}
}

/** A reference to the n-th node of a stored expression graph (internal to the codec). */
class ExprRef {
  constructor(readonly id: number) {}
}

function overridesJson(o: Readonly<Partial<CompiledTaskOptions>>): JsonValue {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) out[k] = v as JsonValue;
  }
  return out;
}

function record(data: JsonValue, what: string): Record<string, JsonValue> {
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new SerializationError(`malformed stored ${what}`);
  return data;
}

function decodeTask(data: JsonValue, decodeChild: (child: JsonValue) => unknown): TaskHandle {
  const r = record(data, "task");
  const name = r["name"];
  if (typeof name !== "string") throw new SerializationError("malformed stored task: no name");
  const bound = r["bound"] === undefined ? [] : (decodeChild(r["bound"]) as unknown[]);
  const overrides = (r["overrides"] ?? {}) as Partial<CompiledTaskOptions>;
  const def = lookupDefinition(name);
  if (def === undefined) {
    const ref = taskReference(name);
    return bound.length === 0 && Object.keys(overrides).length === 0 ? ref : makeTask(ref.definition, overrides, bound);
  }
  return makeTask(def, overrides, Array.isArray(bound) ? bound : []);
}

let registered = false;

/** Registers the task and expression codecs with the value layer (idempotent). */
export function registerTaskCodecs(): void {
  if (registered) return;
  registered = true;
  registerValueCodec<TaskHandle>({
    tag: TASK_TAG,
    test: (v): v is TaskHandle => isTaskValue(v),
    encode: (t, encodeChild) => {
      const out: Record<string, JsonValue> = { name: t.fullName, hash: resolveTask(t).hash };
      if (t.boundArgs.length > 0) out["bound"] = encodeChild(t.boundArgs);
      if (Object.keys(t.overrides).length > 0) out["overrides"] = overridesJson(t.overrides);
      return out;
    },
    decode: decodeTask,
    hash: (t) => {
      const parts = ["durun.Task", t.fullName, resolveTask(t).hash];
      if (t.boundArgs.length > 0 || Object.keys(t.overrides).length > 0) {
        parts.push(JSON.stringify(overridesJson(t.overrides)));
        parts.push(hashValue(t.boundArgs));
      }
      return hashString(...parts);
    },
  });
  registerValueCodec<Expression<unknown>>({
    tag: EXPRESSION_TAG,
    test: (v): v is Expression<unknown> => isExpressionValue(v),
    encode: (e, encodeChild) => encodeGraph(e, encodeChild),
    decode: (data, decodeChild) => decodeGraph(data, decodeChild) as Expression<unknown>,
  });
  registerValueCodec<LazyValue>({
    tag: LAZY_TAG,
    test: (v): v is LazyValue => v instanceof LazyValue,
    encode: (w, encodeChild) => encodeGraph(w.value, encodeChild),
    // Decodes to the value itself (with its expressions), not to a wrapper.
    decode: (data, decodeChild) => decodeGraph(data, decodeChild) as LazyValue,
  });
  registerValueCodec<ExprRef>({
    tag: REF_TAG,
    test: (v): v is ExprRef => v instanceof ExprRef,
    encode: (r) => r.id,
    decode: (data) => {
      if (typeof data !== "number") throw new SerializationError("malformed stored expression reference");
      return new ExprRef(data);
    },
  });
}

/** The children of a node that may hold expressions. */
function nodeChildren(n: ExpressionNode): unknown[] {
  switch (n.kind) {
    case "call":
      return [n.args];
    case "get":
      return [n.target];
    case "cond":
      return [n.predicate, n.then, n.otherwise];
    case "seq":
      return [n.items];
    case "catch":
      return [n.expr];
    case "map":
      return [n.list];
  }
}

/**
 * Calls `visit` for every expression inside `v` (through arrays, plain objects, Maps and Sets;
 * each structure once, so a value that contains itself ends: the encoder reports the cycle).
 */
function eachExpression(v: unknown, visit: (e: Expression<unknown>) => void, seen = new Set<object>()): void {
  if (isExpressionValue(v)) {
    visit(v as Expression<unknown>);
    return;
  }
  if (typeof v !== "object" || v === null || seen.has(v)) return;
  if (v instanceof Map) {
    seen.add(v);
    for (const [k, x] of v as Map<unknown, unknown>) {
      eachExpression(k, visit, seen);
      eachExpression(x, visit, seen);
    }
  } else if (v instanceof Set) {
    seen.add(v);
    for (const x of v as Set<unknown>) eachExpression(x, visit, seen);
  } else if (isPlainStructure(v)) {
    seen.add(v);
    for (const x of Object.values(v)) eachExpression(x, visit, seen);
  }
}

/**
 * A copy of `v` with every expression replaced by its reference. A structure met again inside
 * itself (a cycle) is left as it is, so the encoder reports the cycle with its path.
 */
function withRefs(v: unknown, ids: ReadonlyMap<Expression<unknown>, number>, inside = new Set<object>()): unknown {
  if (isExpressionValue(v)) return new ExprRef(ids.get(v as Expression<unknown>)!);
  if (typeof v !== "object" || v === null || inside.has(v)) return v;
  const isMap = v instanceof Map;
  const isSet = !isMap && v instanceof Set;
  if (!isMap && !isSet && !isPlainStructure(v)) return v;
  inside.add(v);
  let out: unknown;
  if (Array.isArray(v)) out = v.map((x) => withRefs(x, ids, inside));
  else if (isMap) out = new Map([...(v as Map<unknown, unknown>)].map(([k, x]) => [withRefs(k, ids, inside), withRefs(x, ids, inside)]));
  else if (isSet) out = new Set([...(v as Set<unknown>)].map((x) => withRefs(x, ids, inside)));
  else {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: withRefs(x, ids, inside), enumerable: true, writable: true, configurable: true });
    out = o;
  }
  inside.delete(v);
  return out;
}

/** A copy of `v` with every reference replaced by its expression. */
function withExpressions(v: unknown, built: readonly Expression<unknown>[]): unknown {
  if (v instanceof ExprRef) {
    const e = built[v.id];
    if (e === undefined) throw new SerializationError(`malformed stored expression: reference ${v.id} to a later node`);
    return e;
  }
  if (Array.isArray(v)) return v.map((x) => withExpressions(x, built));
  if (v instanceof Map) return new Map([...(v as Map<unknown, unknown>)].map(([k, x]) => [withExpressions(k, built), withExpressions(x, built)]));
  if (v instanceof Set) return new Set([...(v as Set<unknown>)].map((x) => withExpressions(x, built)));
  if (isPlainStructure(v)) {
    for (const [k, x] of Object.entries(v)) (v as Record<string, unknown>)[k] = withExpressions(x, built);
  }
  return v;
}

/**
 * Encodes a value holding expressions as a graph: every expression once, children before
 * parents, references by position; each task once. `{ t: [task...], n: [node...], r: root }`.
 */
function encodeGraph(root: unknown, encodeChild: (child: unknown) => JsonValue): JsonValue {
  const ids = new Map<Expression<unknown>, number>();
  const order: Expression<unknown>[] = [];
  // Iterative post-order DFS (graphs can be deep).
  const stack: Array<{ e: Expression<unknown>; expanded: boolean }> = [];
  const onStack = new Set<Expression<unknown>>();
  eachExpression(root, (e) => stack.push({ e, expanded: false }));
  stack.reverse();
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (ids.has(top.e)) {
      stack.pop();
      continue;
    }
    if (top.expanded) {
      stack.pop();
      onStack.delete(top.e);
      ids.set(top.e, order.length);
      order.push(top.e);
      continue;
    }
    top.expanded = true;
    onStack.add(top.e);
    const kids: Expression<unknown>[] = [];
    for (const c of nodeChildren(top.e.node)) eachExpression(c, (e) => kids.push(e));
    for (let i = kids.length - 1; i >= 0; i--) {
      const k = kids[i]!;
      if (onStack.has(k)) throw new SerializationError("cannot store an expression that contains itself");
      if (!ids.has(k)) stack.push({ e: k, expanded: false });
    }
  }
  const taskIds = new Map<TaskHandle, number>();
  const tasks: TaskHandle[] = [];
  const taskIndex: TaskIndex = (t) => {
    let i = taskIds.get(t);
    if (i === undefined) {
      i = tasks.length;
      taskIds.set(t, i);
      tasks.push(t);
    }
    return i;
  };
  const nodes = order.map((e) => encodeNode(e.node, (child) => encodeChild(withRefs(child, ids)), taskIndex));
  const out: Record<string, JsonValue> = { t: tasks.map((t) => encodeChild(t)), n: nodes };
  // The common root, a list of expressions (a fan-out), as a plain list of node positions.
  if (Array.isArray(root) && root.length > 0 && root.every((x) => isExpressionValue(x))) out["rl"] = root.map((x) => ids.get(x as Expression<unknown>)!);
  else out["r"] = encodeChild(withRefs(root, ids));
  return out;
}

function decodeGraph(data: JsonValue, decodeChild: (child: JsonValue) => unknown): unknown {
  const r = record(data, "expression graph");
  const nodes = r["n"];
  const taskList = r["t"];
  if (!Array.isArray(nodes) || !Array.isArray(taskList) || (r["r"] === undefined && !Array.isArray(r["rl"]))) {
    throw new SerializationError("malformed stored expression graph");
  }
  const tasks = taskList.map((t) => decodeChild(t) as TaskHandle);
  const built: Expression<unknown>[] = [];
  for (const n of nodes) {
    built.push(new Expression(decodeNode(record(n, "expression"), (child) => withExpressions(decodeChild(child), built), tasks)));
  }
  const list = r["rl"];
  if (Array.isArray(list)) return list.map((i) => withExpressions(new ExprRef(i as number), built));
  return withExpressions(decodeChild(r["r"]!), built);
}

/** Error classes revived from stored names: they match errors by class name along the prototype chain. */
function classByName(name: string): ErrorClass {
  const matcher = {
    [name]: class extends Error {
      static override [Symbol.hasInstance](value: unknown): boolean {
        if (value instanceof Error && value.name === name) return true;
        let proto = value !== null && typeof value === "object" ? (Object.getPrototypeOf(value) as object | null) : null;
        while (proto !== null) {
          if ((proto as { constructor?: { name?: string } }).constructor?.name === name) return true;
          proto = Object.getPrototypeOf(proto) as object | null;
        }
        return false;
      }
    },
  }[name];
  return matcher as ErrorClass;
}

/** Tasks of a stored graph are stored once, in a list; nodes refer to them by position. */
type TaskIndex = (t: TaskHandle) => number;

function encodeNode(n: ExpressionNode, encodeChild: (child: unknown) => JsonValue, task: TaskIndex): JsonValue {
  switch (n.kind) {
    case "call":
      return { k: "call", f: task(n.task), a: encodeChild(n.args) };
    case "get":
      return { k: "get", x: encodeChild(n.target), key: n.key };
    case "cond":
      return { k: "cond", p: encodeChild(n.predicate), t: encodeChild(n.then), e: encodeChild(n.otherwise) };
    case "seq":
      return { k: "seq", a: encodeChild(n.items) };
    case "catch":
      return { k: "catch", x: encodeChild(n.expr), classes: n.classes.map((c) => c.name), f: task(n.handler) };
    case "map":
      return { k: "map", f: task(n.task), x: encodeChild(n.list) };
  }
}

function decodeNode(r: Record<string, JsonValue>, decodeChild: (child: JsonValue) => unknown, tasks: readonly TaskHandle[]): ExpressionNode {
  const child = (key: string): unknown => {
    const v = r[key];
    if (v === undefined) throw new SerializationError(`malformed stored expression: no "${key}"`);
    return decodeChild(v);
  };
  const task = (): TaskHandle => {
    const t = tasks[r["f"] as number];
    if (t === undefined) throw new SerializationError("malformed stored expression: bad task reference");
    return t;
  };
  switch (r["k"]) {
    case "call":
      return { kind: "call", task: task(), args: child("a") as unknown[] };
    case "get": {
      const key = r["key"];
      if (typeof key !== "string" && typeof key !== "number") throw new SerializationError("malformed stored expression: bad key");
      return { kind: "get", target: child("x"), key };
    }
    case "cond":
      return { kind: "cond", predicate: child("p"), then: child("t"), otherwise: child("e") };
    case "seq":
      return { kind: "seq", items: child("a") as unknown[] };
    case "catch": {
      const names = r["classes"];
      const classes = Array.isArray(names) ? names.filter((x): x is string => typeof x === "string").map(classByName) : [];
      return { kind: "catch", expr: child("x"), classes, handler: task() };
    }
    case "map":
      return { kind: "map", task: task(), list: child("x") };
    default:
      throw new SerializationError(`malformed stored expression: unknown kind ${JSON.stringify(r["k"])}`);
  }
}
