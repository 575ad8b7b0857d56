/**
 * Finding the files inside a value: which `File`s a cached result refers to, and which of them
 * (or which `Dir`s) changed since the result was stored.
 */
import { Dir } from "./dir.js";
import { File } from "./file.js";
import { findCodec } from "./registry.js";

/** Calls `visit` for every File and Dir reachable from `value` (each object once). */
function walk(value: unknown, visit: (found: File | Dir) => void): void {
  const seen = new Set<object>();
  const step = (v: unknown): void => {
    if (v === null || (typeof v !== "object" && typeof v !== "function")) return;
    const object = v as object;
    if (seen.has(object)) return;
    seen.add(object);
    if (object instanceof File || object instanceof Dir) {
      visit(object);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto === Array.prototype) {
      for (const item of object as unknown[]) step(item);
      return;
    }
    if (proto === Object.prototype || proto === null) {
      for (const key of Object.keys(object)) step((object as Record<string, unknown>)[key]);
      return;
    }
    const codec = findCodec(object);
    if (codec !== undefined) {
      codec.encode(object, (child) => {
        step(child);
        return null;
      });
      return;
    }
    if (object instanceof Map) {
      for (const [k, item] of object) {
        step(k);
        step(item);
      }
    } else if (object instanceof Set) {
      for (const item of object) step(item);
    } else if (object instanceof Error) {
      step(object.cause);
      if (object instanceof AggregateError) step(object.errors);
      for (const key of Object.keys(object)) step((object as unknown as Record<string, unknown>)[key]);
    }
  };
  step(value);
}

/**
 * Every `File` inside a value: nested in arrays, objects, Maps, Sets, errors, registered custom
 * types, and the files of every `Dir` (for a `Dir` read back from storage, the files it held
 * then, each remembering its hash then; otherwise the files it holds now).
 *
 * @example
 * const result = decodeValue(stored);
 * const changed = collectFiles(result).filter((f) => f.isStale());
 */
export function collectFiles(value: unknown): File[] {
  const files: File[] = [];
  walk(value, (found) => {
    if (found instanceof File) files.push(found);
    else files.push(...(found.recordedFiles() ?? found.files()));
  });
  return files;
}

/**
 * The `File`s and `Dir`s inside a value that are stale: read back from storage, and changed,
 * deleted (or, for a `Dir`, given new files) since. Empty when the value can be reused.
 *
 * @example
 * const stale = findStale(decodeValue(stored));
 * if (stale.length > 0) console.log(`re-running: ${stale.map(String).join(", ")} changed`);
 */
export function findStale(value: unknown): Array<File | Dir> {
  const stale: Array<File | Dir> = [];
  walk(value, (found) => {
    if (found.isStale()) stale.push(found);
  });
  return stale;
}
