/**
 * The encoder: any storable value -> a canonical JSON tree (the "tagged JSON" form).
 *
 * Format (stable: stored values depend on it):
 * - `null`, booleans, strings and finite numbers other than `-0` are themselves.
 * - Arrays are JSON arrays (holes are stored as `undefined`).
 * - Plain objects are JSON objects with their own enumerable string keys; an object that has a
 *   key `"$"` is wrapped as `{"$":"obj","v":{...}}`. Keys are sorted, so key order never matters
 *   (`encodeTreeInOrder` keeps insertion order instead, for stored values; the decoder reads
 *   either: it never depends on the order).
 * - Everything else is an object whose `"$"` names the type:
 *   `undef`, `num` (`NaN`, `Infinity`, `-Infinity`, `-0`), `big`, `date`, `re`, `map`, `set`
 *   (entries sorted by their encoding), `bin` (typed arrays, `Buffer`, `DataView`,
 *   `ArrayBuffer`, base64), `err`, `file`, `dir`, and `ext` for registered codecs.
 */
import { SerializationError } from "../errors.js";
import { Dir } from "./dir.js";
import { File } from "./file.js";
import { sha256Hex } from "./hash.js";
import { findCodec, type JsonValue, type ValueCodec } from "./registry.js";

/**
 * Typed array constructors by the name stored in `bin` values.
 *
 * @example
 * new TYPED_ARRAYS["Float64Array"](buffer); // how a stored Float64Array is revived
 */
export const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;

const TYPED_NAMES = new Map<object, string>(
  Object.entries(TYPED_ARRAYS).map(([name, ctor]) => [ctor.prototype, name] as const),
);

const UNDEFINED: JsonValue = Object.freeze({ $: "undef" }) as JsonValue;

/** One step of the path to the value being encoded: an index, a key, or a label. */
type Segment = number | string | { readonly label: string };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Renders a path like `args[1].cb` from a root name and segments.
 *
 * @example
 * formatPath("args", [1, "cb"]); // "args[1].cb"
 */
export function formatPath(root: string, segments: readonly Segment[]): string {
  let out = root;
  for (const seg of segments) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string") out += IDENTIFIER.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`;
    else out += seg.label;
  }
  return out;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function setKey(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function bytesOf(view: ArrayBufferView | ArrayBuffer): Buffer {
  return view instanceof ArrayBuffer ? Buffer.from(view) : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Turns a value into its canonical JSON tree. `forHash` selects the hashing form: error stacks
 * are left out, a `Dir` keeps only its hash, and codecs with a `hash()` contribute that instead
 * of their encoding.
 *
 * @example
 * JSON.stringify(encodeTree({ b: 1, a: [2n] }, false, "value")); // '{"a":[{"$":"big","v":"2"}],"b":1}'
 */
export function encodeTree(value: unknown, forHash: boolean, root: string): JsonValue {
  return new Encoder(forHash, root, false).node(value);
}

/**
 * The storage tree of a value with plain-object keys, Map entries and Set items in their
 * insertion order (what a stored value decodes back to), and whether that tree is the canonical
 * one (`encodeTree(value, false, root)`), i.e. nothing was out of canonical order.
 *
 * @example
 * encodeTreeInOrder({ b: 1, a: 2 }, "value"); // { tree: { b: 1, a: 2 }, canonical: false }
 */
export function encodeTreeInOrder(value: unknown, root: string): { tree: JsonValue; canonical: boolean } {
  const encoder = new Encoder(false, root, true);
  const tree = encoder.node(value);
  return { tree, canonical: !encoder.reordered };
}

class Encoder {
  readonly #forHash: boolean;
  readonly #root: string;
  readonly #path: Segment[] = [];
  /** The objects being encoded (the current path), each with its depth in `#path`. */
  readonly #ancestors = new Map<object, number>();
  /** Keep insertion order (see `encodeTreeInOrder`) instead of sorting. */
  readonly #keepOrder: boolean;
  /** With `#keepOrder`: something was written out of canonical order. */
  reordered = false;

  constructor(forHash: boolean, root: string, keepOrder: boolean) {
    this.#forHash = forHash;
    this.#root = root;
    this.#keepOrder = keepOrder;
  }

  node(value: unknown): JsonValue {
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        if (Number.isFinite(value)) return Object.is(value, -0) ? { $: "num", v: "-0" } : value;
        return { $: "num", v: String(value) };
      case "undefined":
        return UNDEFINED;
      case "bigint":
        return { $: "big", v: value.toString() };
      case "symbol":
        throw this.#fail(`cannot store a symbol (${value.toString()}) at ${this.#where()}: symbols are unique to one process; use a string`);
      case "function":
        return this.#enter(value, () => this.#function(value as (...args: unknown[]) => unknown));
      case "object":
        if (value === null) return null;
        return this.#enter(value, () => this.#object(value));
    }
    throw this.#fail(`cannot store a value of type ${typeof value} at ${this.#where()}`);
  }

  #where(): string {
    return formatPath(this.#root, this.#path);
  }

  #fail(message: string): SerializationError {
    return new SerializationError(message, { path: this.#where() });
  }

  #child(seg: Segment, value: unknown): JsonValue {
    this.#path.push(seg);
    const out = this.node(value);
    this.#path.pop();
    return out;
  }

  #enter(value: object, encode: () => JsonValue): JsonValue {
    const depth = this.#ancestors.get(value);
    if (depth !== undefined) {
      const target = formatPath(this.#root, this.#path.slice(0, depth));
      throw this.#fail(`cannot store a cycle: cycle at ${this.#where()}, which refers back to ${target}`);
    }
    this.#ancestors.set(value, this.#path.length);
    const out = encode();
    this.#ancestors.delete(value);
    return out;
  }

  #function(fn: (...args: unknown[]) => unknown): JsonValue {
    const codec = findCodec(fn);
    if (codec !== undefined) return this.#custom(codec, fn);
    const name = fn.name ? ` (${fn.name})` : "";
    throw this.#fail(`cannot store a function${name} at ${this.#where()}: only tasks can be passed as values; wrap it with task()`);
  }

  #object(value: object): JsonValue {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Array.prototype) return this.#array(value as unknown[]);
    if (proto === Object.prototype || proto === null) return this.#plain(value as Record<string, unknown>);
    if (value instanceof File) return { $: "file", p: value.path, h: value.hash() };
    if (value instanceof Dir) return this.#dir(value);
    const codec = findCodec(value);
    if (codec !== undefined) return this.#custom(codec, value);
    if (proto === Map.prototype) return this.#map(value as Map<unknown, unknown>);
    if (proto === Set.prototype) return this.#set(value as Set<unknown>);
    if (proto === Date.prototype) {
      const time = (value as Date).getTime();
      return { $: "date", v: Number.isNaN(time) ? null : time };
    }
    if (proto === RegExp.prototype) return { $: "re", src: (value as RegExp).source, flags: (value as RegExp).flags };
    if (value instanceof Error) return this.#error(value);
    if (ArrayBuffer.isView(value)) {
      const type = Buffer.isBuffer(value) ? "Buffer" : proto === DataView.prototype ? "DataView" : TYPED_NAMES.get(proto as object);
      if (type !== undefined) return this.#binary(type, value);
    }
    if (proto === ArrayBuffer.prototype) return this.#binary("ArrayBuffer", value as ArrayBuffer);
    throw this.#fail(this.#unsupported(value));
  }

  /** Bytes as base64; for hashing, their sha256 instead (no base64 copy of a large buffer). */
  #binary(type: string, value: ArrayBufferView | ArrayBuffer): JsonValue {
    const bytes = bytesOf(value);
    return this.#forHash ? { $: "bin", t: type, h: sha256Hex(bytes) } : { $: "bin", t: type, v: bytes.toString("base64") };
  }

  #unsupported(value: object): string {
    const at = this.#where();
    if (value instanceof Promise) return `cannot store a Promise at ${at}: await it first (or pass an expression)`;
    for (const weak of [WeakMap, WeakSet, WeakRef] as const) {
      if (value instanceof weak) return `cannot store a ${weak.name} at ${at}: its contents cannot be enumerated; use a Map or Set`;
    }
    if (Array.isArray(value)) return `cannot store an array subclass at ${at}: register a codec (registerValueCodec) or convert it to a plain array`;
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    const name = typeof ctor?.name === "string" && ctor.name !== "" ? ctor.name : "an unnamed class";
    return `cannot store an instance of ${name} at ${at}: register a codec (registerValueCodec) or convert it to a plain object`;
  }

  #array(value: readonly unknown[]): JsonValue {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = this.#child(i, value[i]);
    return out;
  }

  #plain(value: Record<string, unknown>): JsonValue {
    const keys = Object.keys(value);
    if (keys.length > 1) {
      if (!this.#keepOrder) keys.sort(compareStrings);
      else if (!this.reordered) {
        for (let i = 1; i < keys.length; i++) {
          if (keys[i - 1]! > keys[i]!) {
            this.reordered = true;
            break;
          }
        }
      }
    }
    const out: Record<string, JsonValue> = {};
    for (const key of keys) setKey(out, key, this.#child(key, value[key]));
    const symbols = Object.getOwnPropertySymbols(value);
    for (const symbol of symbols) {
      if (Object.prototype.propertyIsEnumerable.call(value, symbol)) {
        throw this.#fail(`cannot store a symbol key (${symbol.toString()}) at ${this.#where()}: use a string key`);
      }
    }
    return Object.hasOwn(out, "$") ? { $: "obj", v: out } : out;
  }

  #map(value: Map<unknown, unknown>): JsonValue {
    const entries: Array<{ sort: string; key: JsonValue; value: JsonValue }> = [];
    let i = 0;
    for (const [k, v] of value) {
      const key = this.#child({ label: `.keys()[${i}]` }, k);
      const label = typeof k === "string" || typeof k === "number" ? `.get(${JSON.stringify(k)})` : `.values()[${i}]`;
      entries.push({ sort: typeof key === "string" ? `"${key}` : JSON.stringify(key), key, value: this.#child({ label }, v) });
      i++;
    }
    const order = (a: (typeof entries)[number], b: (typeof entries)[number]): number =>
      compareStrings(a.sort, b.sort) || compareStrings(JSON.stringify(a.value), JSON.stringify(b.value));
    this.#order(entries, order);
    return { $: "map", v: entries.map((e) => [e.key, e.value]) };
  }

  #set(value: Set<unknown>): JsonValue {
    const items: Array<{ sort: string; item: JsonValue }> = [];
    let i = 0;
    for (const v of value) {
      const item = this.#child({ label: `.values()[${i}]` }, v);
      items.push({ sort: typeof item === "string" ? `"${item}` : JSON.stringify(item), item });
      i++;
    }
    this.#order(items, (a, b) => compareStrings(a.sort, b.sort));
    return { $: "set", v: items.map((e) => e.item) };
  }

  /** Sorts entries into canonical order, or (keeping order) notes when they are not in it. */
  #order<T>(entries: T[], compare: (a: T, b: T) => number): void {
    if (!this.#keepOrder) entries.sort(compare);
    else if (!this.reordered) {
      for (let i = 1; i < entries.length; i++) {
        if (compare(entries[i - 1]!, entries[i]!) > 0) {
          this.reordered = true;
          return;
        }
      }
    }
  }

  #error(error: Error): JsonValue {
    const out: Record<string, JsonValue> = { $: "err", name: String(error.name), msg: String(error.message) };
    if (!this.#forHash && typeof error.stack === "string") out["stack"] = error.stack;
    if (Object.hasOwn(error, "cause")) out["cause"] = this.#child("cause", error.cause);
    if (error instanceof AggregateError && Array.isArray(error.errors)) {
      out["errors"] = this.#child("errors", error.errors);
    }
    const props: Record<string, unknown> = {};
    let any = false;
    for (const key of Object.keys(error)) {
      if (key === "name" || key === "message" || key === "stack" || key === "cause") continue;
      props[key] = (error as unknown as Record<string, unknown>)[key];
      any = true;
    }
    if (any) out["props"] = this.#plain(props);
    return out;
  }

  #dir(dir: Dir): JsonValue {
    if (this.#forHash) return { $: "dir", p: dir.path, h: dir.hash() };
    const snapshot = dir.snapshot();
    return { $: "dir", p: dir.path, h: snapshot.hash, f: snapshot.files.map(([rel, hash]) => [rel, hash]) };
  }

  #custom(codec: ValueCodec<unknown>, value: unknown): JsonValue {
    if (this.#forHash && codec.hash !== undefined) return { $: "ext", t: codec.tag, h: String(codec.hash(value)) };
    const produced = new Set<JsonValue>();
    this.#path.push({ label: `<${codec.tag}>` });
    const data = codec.encode(value, (child) => {
      const out = this.node(child);
      if (out !== null && typeof out === "object") produced.add(out);
      return out;
    });
    const canonical = this.#canonical(data, produced, codec.tag);
    this.#path.pop();
    return { $: "ext", t: codec.tag, v: canonical };
  }

  /** Checks that a codec returned JSON and sorts its object keys (children are already canonical). */
  #canonical(data: unknown, produced: ReadonlySet<JsonValue>, tag: string): JsonValue {
    if (data === null || typeof data === "string" || typeof data === "boolean") return data;
    if (typeof data === "number") {
      if (Number.isFinite(data) && !Object.is(data, -0)) return data;
      throw this.#fail(`codec "${tag}" returned the number ${String(data)} at ${this.#where()}: return JSON, and pass non-JSON values through encodeChild`);
    }
    if (typeof data === "object" && produced.has(data as JsonValue)) return data as JsonValue;
    if (Array.isArray(data)) return data.map((d: unknown) => this.#canonical(d, produced, tag));
    if (typeof data === "object" && Object.getPrototypeOf(data) === Object.prototype) {
      const record = data as Record<string, unknown>;
      const out: Record<string, JsonValue> = {};
      for (const key of Object.keys(record).sort(compareStrings)) setKey(out, key, this.#canonical(record[key], produced, tag));
      return out;
    }
    throw this.#fail(`codec "${tag}" returned a non-JSON value (${typeof data}) at ${this.#where()}: pass nested values through encodeChild`);
  }
}
