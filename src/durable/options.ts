/**
 * Checks shared by the options compilers of the durable API (convention 5: a clear error naming
 * the bad field).
 * @internal
 */
import { UsageError } from "../errors.js";
import { isClusterUrl, parseClusterUrl, redactRedisUrl } from "./redis/url.js";

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * Throws {@link UsageError} when `o` has an own key outside `known` (a misspelled option would
 * otherwise be ignored silently), naming it as `where.key`, with a suggestion when one known key
 * is close, and the list of known keys.
 *
 * @example
 * rejectUnknownKeys({ maxAttempt: 3 }, ["queue", "maxAttempts"], 'workflow "w": options');
 * // UsageError: workflow "w": options.maxAttempt is not an option (did you mean maxAttempts?); known: queue, maxAttempts
 */
export function rejectUnknownKeys(o: object, known: readonly string[], where: string): void {
  if (typeof o !== "object" || o === null) return;
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const lower = key.toLowerCase();
    const close =
      known.find((k) => k.toLowerCase() === lower) ??
      known.find((k) => distance(k.toLowerCase(), lower) <= Math.min(2, Math.floor(lower.length / 3))) ??
      (lower.length >= 3 ? known.find((k) => k.toLowerCase().startsWith(lower)) : undefined);
    throw new UsageError(`${where}.${key} is not an option${close ? ` (did you mean ${close}?)` : ""}; known: ${known.join(", ")}`);
  }
}

/**
 * Checks a Redis URL at construction (ioredis would take `http://x` for a socket path and fail
 * later with "Connection is closed."): `redis://`, `rediss://` (TLS), `unix:<socket path>`
 * (e.g. `unix:/run/redis.sock`), or a Redis Cluster's seed nodes,
 * `redis-cluster://host:port[,host:port...]` (`rediss-cluster://` for TLS). A bare path is
 * refused with the `unix:` spelling to use.
 */
export function checkRedisUrl(url: unknown, where: string): string {
  const hint =
    "a Redis URL: redis://host:port, rediss://host:port (TLS), unix:/path/to/redis.sock or, for a Redis Cluster, redis-cluster://host:port[,host:port...] (rediss-cluster:// for TLS)";
  if (typeof url !== "string" || url === "") throw new UsageError(`${where} must be ${hint}`);
  const shown = redactRedisUrl(url);
  if (isClusterUrl(url)) {
    try {
      parseClusterUrl(url);
      return url;
    } catch (e) {
      throw new UsageError(`${where} is not a valid Redis Cluster URL: "${shown}": ${(e as Error).message}`);
    }
  }
  if (/^rediss?:\/\/[^/]/i.test(url)) {
    if (/^rediss?:\/\/(?:[^@/]*@)?[^/@]*,/i.test(url)) {
      throw new UsageError(`${where} "${shown}" names several hosts: for a Redis Cluster write ${url.slice(0, url.indexOf(":")).toLowerCase()}-cluster://host:port,host:port`);
    }
    try {
      new URL(url);
      return url;
    } catch {
      throw new UsageError(`${where} is not a valid URL: "${shown}"; expected ${hint}`);
    }
  }
  if (/^unix:\/*[^/]/i.test(url)) return url;
  if (url.startsWith("/")) throw new UsageError(`${where} "${url}" looks like a socket path: write it as "unix:${url}"`);
  throw new UsageError(`${where} must be ${hint}, got "${shown}"`);
}
