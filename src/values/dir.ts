/**
 * `Dir`: a directory whose identity is the set of files below it and their contents.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { File, hashFileSync } from "./file.js";
import { hashString } from "./hash.js";

/**
 * The hash of a directory that does not exist.
 *
 * @example
 * new Dir("nope").hash() === MISSING_DIR_HASH; // true
 */
export const MISSING_DIR_HASH = hashString("durun:dir-missing");

/**
 * What a directory holds at one moment: its hash and every file's relative path (with `/`
 * separators, sorted) and content hash.
 *
 * @example
 * const { hash, files } = new Dir("data").snapshot();
 * for (const [rel, fileHash] of files) console.log(rel, fileHash);
 */
export interface DirSnapshot {
  readonly hash: string;
  readonly files: ReadonlyArray<readonly [relativePath: string, hash: string]>;
}

/**
 * A directory of files, hashed over the relative paths and contents of every file below it
 * (recursively; symbolic links are followed, link cycles are not).
 *
 * @example
 * const data = new Dir("data");
 * for (const f of data.files()) console.log(f.path, f.hash());
 * data.hash(); // changes when a file is added, removed or modified
 */
export class Dir {
  /** The path as given to the constructor. */
  readonly path: string;
  readonly #absolutePath: string;
  #recorded: DirSnapshot | undefined;

  constructor(path: string) {
    if (typeof path !== "string" || path === "") {
      throw new UsageError(`new Dir(path): path must be a non-empty string, got ${typeof path === "string" ? '""' : typeof path}`);
    }
    this.path = path;
    this.#absolutePath = resolve(path);
  }

  /**
   * A `Dir` that remembers what it held when it was stored (used by `decodeValue`).
   *
   * @example
   * const d = Dir.restore("out", recordedHash, [["a.txt", hashOfA]]);
   * d.isStale(); // true when out/ changed since
   */
  static restore(path: string, recordedHash: string, files: ReadonlyArray<readonly [string, string]> = []): Dir {
    const dir = new Dir(path);
    dir.#recorded = { hash: recordedHash, files: files.map(([rel, hash]) => [rel, hash] as const) };
    return dir;
  }

  /**
   * The absolute path used to access the directory.
   *
   * @example
   * new Dir("data").absolutePath; // "/home/me/project/data"
   */
  get absolutePath(): string {
    return this.#absolutePath;
  }

  /**
   * The hash recorded when this `Dir` was stored, or `undefined` for a new `Dir`.
   *
   * @example
   * (decodeValue(encodeValue(new Dir("d"))) as Dir).recordedHash; // hash of d then
   */
  get recordedHash(): string | undefined {
    return this.#recorded?.hash;
  }

  /**
   * The files recorded when this `Dir` was stored (each remembering its hash then, so
   * `isStale()` works on it), or `undefined` for a new `Dir`.
   *
   * @example
   * const changed = stored.recordedFiles()?.filter((f) => f.isStale());
   */
  recordedFiles(): File[] | undefined {
    return this.#recorded?.files.map(([rel, hash]) => File.restore(join(this.path, rel), hash));
  }

  /**
   * True when a directory exists at the path.
   *
   * @example
   * if (!new Dir("out").exists()) await build();
   */
  exists(): boolean {
    try {
      return statSync(this.#absolutePath).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Every file below the directory, recursively, sorted by relative path. Empty when the
   * directory does not exist.
   *
   * @example
   * const csvs = new Dir("data").files().filter((f) => f.path.endsWith(".csv"));
   */
  files(): File[] {
    return this.#list().map((rel) => new File(join(this.path, rel)));
  }

  /**
   * The `File` at a path relative to this directory.
   *
   * @example
   * await new Dir("out").file("report.txt").write("done");
   */
  file(relativePath: string): File {
    return new File(join(this.path, relativePath));
  }

  /**
   * The hash of the directory and of every file in it, taken together.
   *
   * @example
   * const { hash, files } = new Dir("data").snapshot();
   */
  snapshot(): DirSnapshot {
    if (!this.exists()) return { hash: MISSING_DIR_HASH, files: [] };
    const parts: string[] = ["durun:dir"];
    const files: Array<readonly [string, string]> = [];
    for (const rel of this.#list()) {
      const hash = hashFileSync(join(this.#absolutePath, rel));
      files.push([rel, hash]);
      parts.push(rel, hash);
    }
    return { hash: hashString(...parts), files };
  }

  /**
   * A hash over the relative paths and content hashes of every file below the directory
   * ({@link MISSING_DIR_HASH} when it does not exist; an empty directory hashes differently).
   *
   * @example
   * new Dir("data").hash(); // "9f86d0..."
   */
  hash(): string {
    return this.snapshot().hash;
  }

  /**
   * True when this `Dir` came from a stored value and a file below it has since been added,
   * removed or changed. A `Dir` created with `new Dir()` is never stale.
   *
   * @example
   * if ((decodeValue(stored) as Dir).isStale()) rerun();
   */
  isStale(): boolean {
    return this.#recorded !== undefined && this.hash() !== this.#recorded.hash;
  }

  /**
   * `Dir(path)`, for messages.
   *
   * @example
   * String(new Dir("data")); // "Dir(data)"
   */
  toString(): string {
    return `Dir(${this.path})`;
  }

  /**
   * Relative paths (with `/`) of every file below, sorted. Entries are visited in name order
   * and a linked directory is skipped only when it is one of its own ancestors, so the list
   * does not depend on the order the file system returns entries in.
   */
  #list(): string[] {
    const out: string[] = [];
    const ancestors = new Set<string>();
    const walk = (absolute: string, prefix: string): void => {
      let real: string;
      let entries;
      try {
        real = realpathSync(absolute);
        entries = readdirSync(absolute, { withFileTypes: true });
      } catch {
        return; // vanished or unreadable while walking
      }
      if (ancestors.has(real)) return;
      ancestors.add(real);
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const childAbsolute = join(absolute, entry.name);
        const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink()) {
          try {
            const target = statSync(childAbsolute);
            isDir = target.isDirectory();
            isFile = target.isFile();
          } catch {
            continue; // dangling link
          }
        }
        if (isDir) walk(childAbsolute, rel);
        else if (isFile) out.push(rel);
      }
      ancestors.delete(real);
    };
    walk(this.#absolutePath, "");
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
