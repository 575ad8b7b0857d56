/**
 * Run and event ids: time-ordered (so equal-score index entries sort by creation), unique across
 * processes through a random tail. Example: `0mg3k2x1a001k3j9c0qz`.
 * @internal
 */
import { randomBytes } from "node:crypto";

let counter = 0;

/** A new id; ids made later in one process sort after earlier ones. */
export function newId(): string {
  counter = (counter + 1) % 46656;
  const t = Date.now().toString(36).padStart(9, "0");
  const c = counter.toString(36).padStart(3, "0");
  const r = randomBytes(6).toString("base64url").replace(/[-_]/g, "x").toLowerCase();
  return `${t}${c}${r}`;
}
