/**
 * Encoding and hashing a value for recording, in one pass where that gives the same result as
 * `hashValue` (primitives and plain arrays/objects of them), in two passes otherwise.
 */
import { encodeValue, hashValue } from "../values/codec.js";
import { sha256Hex } from "../values/hash.js";

/** A value's canonical text and its value hash. */
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
 * The canonical text and hash of a value.
 *
 * @example
 * valueText([1, "a"]); // { text: '[1,"a"]', hash: sha256('[1,"a"]') }
 */
export function valueText(v: unknown, root: string): ValueText {
  return encodeAndHash(v, root, false);
}

/**
 * The canonical text of a value and the sha256 of that text: the key under which a result is
 * stored (one pass; unlike `hashValue`, an error's stack is part of it, which is right for
 * storage but not for cache keys).
 *
 * @example
 * storedText(bigResult); // { text, hash: sha256(text) }
 */
export function storedText(v: unknown, root: string): ValueText {
  return encodeAndHash(v, root, true);
}

/** Hashes of short texts (small numbers and strings recur as arguments), bounded. */
const shortHashes = new Map<string, string>();
const SHORT = 32;
const SHORT_ENTRIES = 50_000;

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
    const text = String(v);
    return { text, hash: shortHash(text) };
  }
  const text = encodeValue(v, { root });
  return { text, hash: fromText || isSimple(v, 0) ? sha256Hex(text) : hashValue(v, { root }) };
}
