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
import { Expression, type ErrorClass, type ExpressionNode } from "./expression.js";
import { isExpressionValue, isTaskValue, lookupDefinition, type CompiledTaskOptions } from "./registry.js";
import { makeTask, resolveTask, taskReference } from "./task.js";
import type { TaskHandle } from "./task-handle.js";

/** Tag of stored tasks. */
export const TASK_TAG = "durun.Task";
/** Tag of stored expressions. */
export const EXPRESSION_TAG = "durun.Expression";

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
    encode: (e, encodeChild) => encodeNode(e.node, encodeChild),
    decode: (data, decodeChild) => new Expression(decodeNode(record(data, "expression"), decodeChild)),
  });
}

function encodeNode(n: ExpressionNode, encodeChild: (child: unknown) => JsonValue): JsonValue {
  switch (n.kind) {
    case "call":
      return { k: "call", task: encodeChild(n.task), args: encodeChild(n.args) };
    case "get":
      return { k: "get", target: encodeChild(n.target), key: n.key };
    case "cond":
      return { k: "cond", p: encodeChild(n.predicate), t: encodeChild(n.then), e: encodeChild(n.otherwise) };
    case "seq":
      return { k: "seq", items: encodeChild(n.items) };
    case "catch":
      return {
        k: "catch",
        expr: encodeChild(n.expr),
        classes: n.classes.map((c) => c.name),
        handler: encodeChild(n.handler),
      };
    case "map":
      return { k: "map", task: encodeChild(n.task), list: encodeChild(n.list) };
  }
}

/** Error classes revived from stored names: they match errors by class name along the prototype chain. */
function classByName(name: string): ErrorClass {
  const matcher = {
    [name]: class extends Error {
      static override [Symbol.hasInstance](value: unknown): boolean {
        let proto = value !== null && typeof value === "object" ? (Object.getPrototypeOf(value) as object | null) : null;
        if (value instanceof Error && value.name === name) return true;
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

function decodeNode(r: Record<string, JsonValue>, decodeChild: (child: JsonValue) => unknown): ExpressionNode {
  const child = (key: string): unknown => {
    const v = r[key];
    if (v === undefined) throw new SerializationError(`malformed stored expression: no "${key}"`);
    return decodeChild(v);
  };
  switch (r["k"]) {
    case "call":
      return { kind: "call", task: child("task") as TaskHandle, args: child("args") as unknown[] };
    case "get": {
      const key = r["key"];
      if (typeof key !== "string" && typeof key !== "number") throw new SerializationError("malformed stored expression: bad key");
      return { kind: "get", target: child("target"), key };
    }
    case "cond":
      return { kind: "cond", predicate: child("p"), then: child("t"), otherwise: child("e") };
    case "seq":
      return { kind: "seq", items: child("items") as unknown[] };
    case "catch": {
      const names = r["classes"];
      const classes = Array.isArray(names) ? names.filter((x): x is string => typeof x === "string").map(classByName) : [];
      return { kind: "catch", expr: child("expr"), classes, handler: child("handler") as TaskHandle };
    }
    case "map":
      return { kind: "map", task: child("task") as TaskHandle, list: child("list") };
    default:
      throw new SerializationError(`malformed stored expression: unknown kind ${JSON.stringify(r["k"])}`);
  }
}
