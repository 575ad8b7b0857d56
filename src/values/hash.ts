/**
 * Hashing primitives of durun: sha256, hex encoded, full 64 characters.
 *
 * Every hash durun stores (task hashes, argument hashes, call hashes, value hashes, file
 * hashes) is a lowercase sha256 hex digest of 64 characters. Nothing is truncated: the digest
 * is short enough for database keys and a prefix would only buy collisions.
 */
import * as crypto from "node:crypto";

type OneShotHash = (algorithm: string, data: string | Uint8Array, outputEncoding: "hex") => string;

/** `crypto.hash` (Node >= 20.12) skips the Hash object and is about twice as fast for small inputs. */
const oneShot: OneShotHash | undefined = (crypto as { hash?: OneShotHash }).hash;

/**
 * The sha256 hex digest (64 characters) of a string (as UTF-8) or of bytes.
 *
 * @example
 * sha256Hex("abc"); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 */
export function sha256Hex(data: string | Uint8Array): string {
  if (oneShot !== undefined) return oneShot("sha256", data, "hex");
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** True when a string has no lone surrogates (which UTF-8 would turn into U+FFFD). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Hash of several strings joined unambiguously: each part is prefixed with its length, so
 * `hashString("ab", "c")` and `hashString("a", "bc")` differ (and a part with a lone surrogate
 * is escaped, so it does not collide with U+FFFD). Used for task and call hashes.
 *
 * @example
 * const callHash = hashString("call", taskHash, argsHash);
 */
export function hashString(...parts: string[]): string {
  let text = "";
  for (const part of parts) {
    text += isWellFormed(part) ? `${part.length}:${part}` : `${part.length}!${JSON.stringify(part)}`;
  }
  return sha256Hex(text);
}
