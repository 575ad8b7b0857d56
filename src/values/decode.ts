/**
 * The decoder: a canonical JSON tree (see encode.ts for the format) -> the value.
 *
 * Stored values are data, never code: the decoder only builds objects from a fixed list of
 * types (plus registered codecs), never evaluates text, and defines keys such as `__proto__`
 * as plain own properties, so hostile input cannot reach a prototype.
 */
import * as errorClasses from "../errors.js";
import { SerializationError } from "../errors.js";
import { Dir } from "./dir.js";
import { TYPED_ARRAYS, formatPath } from "./encode.js";
import { File } from "./file.js";
import { getCodec, type JsonValue } from "./registry.js";

type ErrorClass = new (...args: never[]) => Error;

/** The error classes a stored error may be revived as (by `name`); others become `Error`. */
const ERROR_CLASSES: Record<string, ErrorClass> = Object.create(null) as Record<string, ErrorClass>;
for (const ctor of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) {
  ERROR_CLASSES[ctor.name] = ctor;
}
for (const [name, value] of Object.entries(errorClasses)) {
  if (typeof value === "function" && value.prototype instanceof Error) ERROR_CLASSES[name] = value as unknown as ErrorClass;
}

const TYPED: Record<string, (typeof TYPED_ARRAYS)[keyof typeof TYPED_ARRAYS]> = Object.assign(
  Object.create(null) as Record<string, never>,
  TYPED_ARRAYS,
);

const NUMBERS: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
  "-0": -0,
});

type Segment = number | string | { readonly label: string };

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Turns a JSON tree made by the encoder back into the value.
 *
 * @example
 * decodeTree(JSON.parse('{"$":"big","v":"12"}')); // 12n
 */
export function decodeTree(tree: JsonValue): unknown {
  return new Decoder().node(tree);
}

class Decoder {
  readonly #path: Segment[] = [];

  node(tree: JsonValue): unknown {
    if (tree === null || typeof tree !== "object") return tree;
    if (Array.isArray(tree)) return tree.map((item, i) => this.#child(i, item));
    if (!Object.hasOwn(tree, "$")) return this.#plain(tree);
    return this.#tagged(tree);
  }

  #fail(message: string, cause?: unknown): SerializationError {
    const where = formatPath("value", this.#path);
    return new SerializationError(`cannot decode ${where}: ${message}`, { path: where, cause });
  }

  #child(seg: Segment, tree: JsonValue): unknown {
    this.#path.push(seg);
    const out = this.node(tree);
    this.#path.pop();
    return out;
  }

  #plain(tree: { [key: string]: JsonValue }): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(tree)) {
      const value = this.#child(key, tree[key] as JsonValue);
      if (key === "__proto__") define(out, key, value);
      else out[key] = value;
    }
    return out;
  }

  #field(tree: { [key: string]: JsonValue }, key: string): JsonValue | undefined {
    return Object.hasOwn(tree, key) ? tree[key] : undefined;
  }

  #string(tree: { [key: string]: JsonValue }, key: string): string {
    const value = this.#field(tree, key);
    if (typeof value !== "string") throw this.#fail(`field "${key}" of a "${String(tree["$"])}" value must be a string`);
    return value;
  }

  #array(tree: { [key: string]: JsonValue }, key: string): JsonValue[] {
    const value = this.#field(tree, key);
    if (!Array.isArray(value)) throw this.#fail(`field "${key}" of a "${String(tree["$"])}" value must be an array`);
    return value;
  }

  #tagged(tree: { [key: string]: JsonValue }): unknown {
    const tag = tree["$"];
    switch (tag) {
      case "undef":
        return undefined;
      case "obj": {
        const inner = this.#field(tree, "v");
        if (!isRecord(inner)) throw this.#fail(`field "v" of an "obj" value must be an object`);
        return this.#plain(inner);
      }
      case "num": {
        const text = this.#string(tree, "v");
        if (!Object.hasOwn(NUMBERS, text)) throw this.#fail(`unknown special number ${JSON.stringify(text)}`);
        return NUMBERS[text];
      }
      case "big": {
        const text = this.#string(tree, "v");
        if (!/^-?\d+$/.test(text)) throw this.#fail(`malformed bigint ${JSON.stringify(text.slice(0, 40))}`);
        return BigInt(text);
      }
      case "date": {
        const time = this.#field(tree, "v");
        if (time !== null && typeof time !== "number") throw this.#fail(`field "v" of a "date" value must be a number or null`);
        return new Date(time === null ? Number.NaN : time);
      }
      case "re":
        try {
          return new RegExp(this.#string(tree, "src"), this.#string(tree, "flags"));
        } catch (error) {
          if (error instanceof SerializationError) throw error;
          throw this.#fail("malformed regular expression", error);
        }
      case "map":
        return this.#map(this.#array(tree, "v"));
      case "set":
        return new Set(this.#array(tree, "v").map((item, i) => this.#child({ label: `.values()[${i}]` }, item)));
      case "bin":
        return this.#binary(this.#string(tree, "t"), this.#string(tree, "v"));
      case "err":
        return this.#error(tree);
      case "file":
        return File.restore(this.#string(tree, "p"), this.#string(tree, "h"));
      case "dir":
        return this.#dir(tree);
      case "ext":
        return this.#custom(tree);
      default:
        throw this.#fail(`unknown value tag ${JSON.stringify(tag)} (stored by a newer durun, or corrupt)`);
    }
  }

  #map(entries: JsonValue[]): Map<unknown, unknown> {
    const out = new Map<unknown, unknown>();
    entries.forEach((entry, i) => {
      if (!Array.isArray(entry) || entry.length !== 2) throw this.#fail(`map entry ${i} must be a [key, value] pair`);
      const key = this.#child({ label: `.keys()[${i}]` }, entry[0] as JsonValue);
      out.set(key, this.#child({ label: `.values()[${i}]` }, entry[1] as JsonValue));
    });
    return out;
  }

  #binary(type: string, data: string): unknown {
    const bytes = Buffer.from(data, "base64");
    if (type === "Buffer") return bytes;
    const copy = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(copy).set(bytes);
    if (type === "ArrayBuffer") return copy;
    if (type === "DataView") return new DataView(copy);
    const ctor = Object.hasOwn(TYPED, type) ? TYPED[type] : undefined;
    if (ctor === undefined) throw this.#fail(`unknown binary type ${JSON.stringify(type)}`);
    if (copy.byteLength % ctor.BYTES_PER_ELEMENT !== 0) throw this.#fail(`${type} data is not a whole number of elements`);
    return new ctor(copy);
  }

  #error(tree: { [key: string]: JsonValue }): Error {
    const name = this.#string(tree, "name");
    const message = this.#string(tree, "msg");
    const ctor = Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name] : undefined;
    // Reflect.construct makes a real Error with the class's prototype without running the
    // class's constructor: no user code, and no required constructor arguments.
    const error = Reflect.construct(Error, [message], ctor ?? Error) as Error;
    if (ctor === undefined || error.name !== name) define(error, "name", name);
    const stack = this.#field(tree, "stack");
    Object.defineProperty(error, "stack", {
      value: typeof stack === "string" ? stack : `${name}: ${message}`,
      enumerable: false,
      writable: true,
      configurable: true,
    });
    if (Object.hasOwn(tree, "cause")) {
      Object.defineProperty(error, "cause", {
        value: this.#child("cause", tree["cause"] as JsonValue),
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
    if (Object.hasOwn(tree, "errors")) {
      const errors = this.#child("errors", tree["errors"] as JsonValue);
      Object.defineProperty(error, "errors", { value: errors, enumerable: false, writable: true, configurable: true });
    }
    const props = this.#field(tree, "props");
    if (props !== undefined) {
      const decoded = this.node(props);
      if (decoded === null || typeof decoded !== "object") throw this.#fail(`field "props" of an "err" value must be an object`);
      for (const key of Object.keys(decoded)) {
        if (key === "stack" || key === "message" || key === "cause") continue;
        define(error, key, (decoded as Record<string, unknown>)[key]);
      }
    }
    return error;
  }

  #dir(tree: { [key: string]: JsonValue }): Dir {
    const files: Array<[string, string]> = [];
    const list = this.#field(tree, "f");
    if (list !== undefined) {
      if (!Array.isArray(list)) throw this.#fail(`field "f" of a "dir" value must be an array`);
      for (const entry of list) {
        if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "string") {
          throw this.#fail(`field "f" of a "dir" value must hold [path, hash] pairs`);
        }
        files.push([entry[0], entry[1]]);
      }
    }
    return Dir.restore(this.#string(tree, "p"), this.#string(tree, "h"), files);
  }

  #custom(tree: { [key: string]: JsonValue }): unknown {
    const tag = this.#string(tree, "t");
    const codec = getCodec(tag);
    if (codec === undefined) {
      throw this.#fail(`unknown value type "${tag}": register its codec (registerValueCodec) before decoding, e.g. by importing the module that defines it`);
    }
    if (!Object.hasOwn(tree, "v")) throw this.#fail(`a "${tag}" value was stored by its hash only and cannot be decoded`);
    this.#path.push({ label: `<${tag}>` });
    try {
      return codec.decode(tree["v"] as JsonValue, (child) => this.node(child));
    } catch (error) {
      if (error instanceof SerializationError) throw error;
      throw this.#fail(`codec "${tag}" failed: ${error instanceof Error ? error.message : String(error)}`, error);
    } finally {
      this.#path.pop();
    }
  }
}
