/**
 * Encoding and hashing a value for recording, in one pass where that gives the same result as
 * `hashValue` (primitives and plain arrays/objects of them, keys already in sorted order), in
 * two passes otherwise.
 */
import { encodeInOrder, encodeValue, hashValue } from "../values/codec.js";
import { sha256Hex } from "../values/hash.js";

/** A value's stored text and its hash. */
export interface ValueText {
  readonly text: string;
  readonly hash: string;
}

/** True when a stored text may hold files or directories (which must be checked before reuse). */
export function mayHoldFiles(text: string): boolean {
  return text.includes('"$":"file"') || text.includes('"$":"dir"');
}

/** True when the hashing form of `v` equals its storage form (no File/Dir/Error/custom types). */
function isSimple(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
    case "number":
    case "undefined":
    case "bigint":
      return true;
    case "object": {
      if (v === null) return true;
      if (depth > 8) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (const x of v) if (!isSimple(x, depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) if (!isSimple((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * The stored text (insertion order) and the value hash (`hashValue`, canonical) of a value.
 *
 * @example
 * valueText([1, "a"]); // { text: '[1,"a"]', hash: sha256('[1,"a"]') }
 * valueText({ b: 1, a: 2 }); // { text: '{"b":1,"a":2}', hash: hashValue({ a: 2, b: 1 }) }
 */
export function valueText(v: unknown, root: string): ValueText {
  return encodeAndHash(v, root, false);
}

/**
 * The stored text of a value (insertion order) and the sha256 of its canonical text: the key
 * under which a result is stored (one pass when the two texts are equal; unlike `hashValue`,
 * an error's stack is part of it, which is right for storage but not for cache keys).
 *
 * @example
 * storedText(bigResult); // { text, hash: sha256(encodeValue(bigResult)) }
 */
export function storedText(v: unknown, root: string): ValueText {
  return encodeAndHash(v, root, true);
}

/** Hashes of short texts (small numbers and strings recur as arguments), bounded. */
const shortHashes = new Map<string, string>();
const SHORT = 32;
const SHORT_ENTRIES = 50_000;

/** Text and hash of numbers (arguments and results that recur), bounded; shared, read-only. */
const numberTexts = new Map<number, ValueText>();

function shortHash(text: string): string {
  let h = shortHashes.get(text);
  if (h === undefined) {
    h = sha256Hex(text);
    if (shortHashes.size >= SHORT_ENTRIES) shortHashes.clear();
    shortHashes.set(text, h);
  }
  return h;
}

function encodeAndHash(v: unknown, root: string, fromText: boolean): ValueText {
  if (typeof v === "string") {
    const text = JSON.stringify(v);
    return { text, hash: text.length <= SHORT ? shortHash(text) : sha256Hex(text) };
  }
  if (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0)) {
    let t = numberTexts.get(v);
    if (t === undefined) {
      const text = String(v);
      t = { text, hash: shortHash(text) };
      if (numberTexts.size >= SHORT_ENTRIES) numberTexts.clear();
      numberTexts.set(v, t);
    }
    return t;
  }
  // Stored in insertion order (a cached result decodes with the key order it had); hashed over
  // the canonical text, so key order never changes a hash. A second pass only when the text is
  // not canonical (some object's keys were not in sorted order).
  const { text, canonical } = encodeInOrder(v, { root });
  if (fromText) return { text, hash: sha256Hex(canonical ? text : encodeValue(v, { root })) };
  return { text, hash: canonical && isSimple(v, 0) ? sha256Hex(text) : hashValue(v, { root }) };
}
