/**
 * Rendering values and store failures for people.
 */
import { inspect } from "node:util";
import { DurunError, StoreError, ensureError } from "../errors.js";

/**
 * A value as the CLI prints it: strings as they are, everything else in a readable
 * JavaScript-like form (`{ total: 42, files: [ ... ] }`).
 */
export function renderValue(value: unknown, options: { colors?: boolean } = {}): string {
  if (typeof value === "string") return value;
  return inspect(value, { depth: 8, colors: options.colors ?? false, breakLength: 100, maxArrayLength: 50, maxStringLength: 2000 });
}

/** Like {@link renderValue} but on one line and cut to `max` characters. */
export function renderInline(value: unknown, max = 80): string {
  const text = typeof value === "string" ? JSON.stringify(value) : inspect(value, { depth: 4, breakLength: Infinity, maxArrayLength: 20 });
  const flat = text.replace(/\s*\n\s*/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/**
 * Turns a failure to open or use the database into a {@link StoreError} whose one-line message
 * names the database and says what to do. Other errors are returned unchanged.
 */
export function openStoreError(db: string, e: unknown): Error {
  const err = ensureError(e);
  const isStore = err instanceof StoreError || err.name === "SqliteError" || /^SQLITE_/.test(String((err as { code?: unknown }).code));
  if (!isStore) return err;
  if (err instanceof DurunError && err.message.includes("--db")) return err;
  const detail = err.message.split("\n")[0] ?? "";
  const named = detail.includes(db) ? detail : `cannot use database ${db}: ${detail}`;
  const advice = /not a database|corrupt|malformed/i.test(detail)
    ? "move the file away (or delete it to start a fresh cache), or pass --db <path>"
    : "pass --db <path> (or set DURUN_DB) to a location that can be written";
  return new StoreError(`${named}; ${advice}`, { cause: err });
}
