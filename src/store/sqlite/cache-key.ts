/**
 * The compact key of a SQLite cache entry: the sha256 (32 bytes) of the task hash and the args
 * hash joined by a NUL. One short BLOB instead of two 64-character hex columns keeps the
 * `cache_entries` key index small, so a batch of inserts at random key positions dirties few
 * pages (see bench/lazy/PROFILE.md). Registered as the SQL function `durun_cache_key` for the
 * migration that moves existing rows over.
 */
import * as crypto from "node:crypto";

type OneShotHash = (algorithm: string, data: string, outputEncoding: "buffer") => Buffer;

/** `crypto.hash` (Node >= 20.12), which skips the Hash object. */
const oneShot: OneShotHash | undefined = (crypto as { hash?: OneShotHash }).hash;

/**
 * The `cache_key` of a cache entry.
 *
 * @example
 * db.prepare("SELECT * FROM cache_entries WHERE cache_key = ?").get(cacheKey(taskHash, argsHash));
 */
export function cacheKey(taskHash: string, argsHash: string): Buffer {
  const text = `${taskHash}\0${argsHash}`;
  if (oneShot !== undefined) return oneShot("sha256", text, "buffer");
  return crypto.createHash("sha256").update(text).digest();
}

/** The name of {@link cacheKey} as an SQL function (used by migrations). */
export const CACHE_KEY_FUNCTION = "durun_cache_key";
