/**
 * Canonical serialisation and hashing of values: the public entry points of the value layer.
 *
 * Decisions (stable; stored data depends on them):
 * - `encodeValue` writes a tagged JSON text (format in encode.ts). It is canonical: equal
 *   values give equal text whatever the key or insertion order of objects, Maps and Sets.
 * - `hashValue` is the sha256 hex (full 64 characters) of the canonical encoding, computed in
 *   one pass, except that a `File` contributes its path (as given) and content hash, a `Dir`
 *   its path and hash over its files, a registered codec its own `hash()`, binary data its
 *   sha256 (instead of base64), and error stacks are left out.
 * - `undefined` is a value: `{a: undefined}` and `{}` encode and hash differently, as do
 *   `undefined` and `null`.
 * - `-0` is kept: it round-trips as `-0` and hashes differently from `0`.
 * - `Buffer` and `Uint8Array` with the same bytes are different values (each round-trips as
 *   itself).
 * - A `File` or `Dir` is identified by its path as given (`"a.txt"` and `"./a.txt"` differ) and
 *   its content; relative paths keep hashes independent of where the project lives.
 */
import { SerializationError } from "../errors.js";
import { decodeTree } from "./decode.js";
import { encodeTree, encodeTreeInOrder } from "./encode.js";
import { sha256Hex } from "./hash.js";
import type { JsonValue } from "./registry.js";

export { hashString } from "./hash.js";
export { registerValueCodec } from "./registry.js";
export type { JsonValue, ValueCodec } from "./registry.js";
export { collectFiles, findStale } from "./collect.js";

/**
 * Options of {@link encodeValue} and {@link hashValue}.
 *
 * @example
 * hashValue(args, { root: "args" }); // errors say e.g. "at args[1].cb"
 */
export interface EncodeOptions {
  /**
   * The name of the value in error messages.
   * @default "value"
   */
  root?: string;
}

function tree(value: unknown, forHash: boolean, options: EncodeOptions | undefined): JsonValue {
  try {
    return encodeTree(value, forHash, options?.root ?? "value");
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new SerializationError(`cannot store ${options?.root ?? "value"}: it is nested too deeply`, { cause: error });
    }
    throw error;
  }
}

/**
 * The canonical text of a value (see the module comment for what can be stored). Throws
 * `SerializationError` naming the offending place for functions that are not tasks, symbols,
 * cycles, Promises, weak collections and instances of unregistered classes.
 *
 * @example
 * encodeValue({ b: 1, a: [1n, undefined] }); // '{"a":[{"$":"big","v":"1"},{"$":"undef"}],"b":1}'
 * encodeValue({ a: [1n, undefined], b: 1 }); // the same text
 */
export function encodeValue(value: unknown, options?: EncodeOptions): string {
  return JSON.stringify(tree(value, false, options));
}

/**
 * The text under which a value is stored: {@link encodeValue}'s format with object keys, Map
 * entries and Set items in insertion order, so the value decodes with the order it had
 * (internal; hashes stay those of the canonical text). `canonical` is true when the text equals
 * `encodeValue(value)` (nothing was out of canonical order).
 *
 * @example
 * encodeInOrder({ b: 1, a: 2 }); // { text: '{"b":1,"a":2}', canonical: false }
 */
export function encodeInOrder(value: unknown, options?: EncodeOptions): { text: string; canonical: boolean } {
  const root = options?.root ?? "value";
  try {
    const { tree: t, canonical } = encodeTreeInOrder(value, root);
    return { text: JSON.stringify(t), canonical };
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new SerializationError(`cannot store ${root}: it is nested too deeply`, { cause: error });
    }
    throw error;
  }
}

/**
 * The value back from {@link encodeValue}'s text. Never evaluates code; unknown tags, malformed
 * input and unregistered custom types throw `SerializationError`.
 *
 * @example
 * decodeValue(encodeValue(new Map([[1, new Date(0)]]))); // Map { 1 => 1970-01-01T00:00:00.000Z }
 */
export function decodeValue(text: string): unknown {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new SerializationError(`cannot decode a value: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  // A short text without a `"$"` key holds no tagged value: the parsed JSON is the value
  // (JSON.parse defines `__proto__` as a plain own property, as the decoder does). Long texts
  // go through the decoder, which also turns too deep nesting into a SerializationError.
  if (text.length <= 256 && !text.includes('"$"')) return parsed;
  try {
    return decodeTree(parsed);
  } catch (error) {
    if (error instanceof SerializationError) throw error;
    throw new SerializationError(`cannot decode a value: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * The sha256 hex (64 characters) identifying a value: equal values, equal hashes; a `File` is
 * hashed by path and content, so a changed input file changes the hash.
 *
 * @example
 * hashValue([1, "abc", { a: 2 }]) === hashValue([1, "abc", { a: 2 }]); // true
 * hashValue(1) === hashValue("1");                                      // false
 */
export function hashValue(value: unknown, options?: EncodeOptions): string {
  return sha256Hex(JSON.stringify(tree(value, true, options)));
}
