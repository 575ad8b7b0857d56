/**
 * `File`: a path whose content is part of a value's identity. A `File` argument is hashed by its
 * content, so a task re-runs when the file changes; a `File` in a stored result remembers the
 * content hash it had when it was stored, so a changed or deleted output can be detected.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createHash } from "node:crypto";
import { UsageError } from "../errors.js";
import { sha256Hex } from "./hash.js";

/**
 * The hash of a file that does not exist (or is not a regular file): 64 zeros, which is not the
 * sha256 of any known content, so a missing file never hashes like an existing one.
 *
 * @example
 * new File("nope.txt").hash() === MISSING_FILE_HASH; // true
 */
export const MISSING_FILE_HASH = "0".repeat(64);

/** Files at least this large are hashed in chunks instead of being read whole. */
const CHUNK = 1 << 20;
/**
 * A content hash is memoised only when the file's mtime and ctime are older than this: file
 * system timestamps advance in coarse ticks, so a file rewritten twice within one tick with the
 * same size would otherwise keep its old hash (git's "racy clean" problem).
 */
const RACY_MS = 2_000;

interface Memo {
  readonly key: string;
  readonly hash: string;
}
const memo = new Map<string, Memo>();

/**
 * The sha256 of a file's bytes, or {@link MISSING_FILE_HASH}. Memoised in-process by absolute
 * path, size, mtime, ctime, inode and device.
 *
 * @example
 * hashFileSync("/tmp/data.csv"); // "3a7b..." (64 hex characters)
 */
export function hashFileSync(absolutePath: string): string {
  let stat;
  try {
    stat = statSync(absolutePath, { bigint: true });
  } catch {
    memo.delete(absolutePath);
    return MISSING_FILE_HASH;
  }
  if (!stat.isFile()) {
    memo.delete(absolutePath);
    return MISSING_FILE_HASH;
  }
  const key = `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}:${stat.dev}`;
  const known = memo.get(absolutePath);
  if (known !== undefined && known.key === key) return known.hash;
  let hash: string;
  try {
    hash = stat.size < CHUNK ? sha256Hex(readFileSync(absolutePath)) : hashLarge(absolutePath);
  } catch {
    memo.delete(absolutePath);
    return MISSING_FILE_HASH;
  }
  const newest = Number(stat.mtimeMs > stat.ctimeMs ? stat.mtimeMs : stat.ctimeMs);
  if (Date.now() - newest > RACY_MS) memo.set(absolutePath, { key, hash });
  else memo.delete(absolutePath);
  return hash;
}

function hashLarge(absolutePath: string): string {
  const hasher = createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(absolutePath, "r");
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      hasher.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hasher.digest("hex");
}

/**
 * Forgets the memoised hash of a path (called after every write through `File`).
 *
 * @example
 * forgetFileHash(resolve("out.txt"));
 */
export function forgetFileHash(absolutePath: string): void {
  memo.delete(absolutePath);
}

/**
 * A file, identified by its path and its content.
 *
 * `path` is kept as given (a relative path stays relative, so the hash of a value holding a
 * `File` does not depend on where the project is checked out); the file is accessed through
 * `absolutePath`, resolved against the working directory when the `File` is created.
 *
 * @example
 * const out = new File("out/report.txt");
 * await out.write("hello");
 * out.hash();          // sha256 of "hello"
 * await out.read();    // "hello"
 */
export class File {
  /** The path as given to the constructor. */
  readonly path: string;
  readonly #absolutePath: string;
  #recordedHash: string | undefined;

  constructor(path: string) {
    if (typeof path !== "string" || path === "") {
      throw new UsageError(`new File(path): path must be a non-empty string, got ${typeof path === "string" ? '""' : typeof path}`);
    }
    this.path = path;
    this.#absolutePath = resolve(path);
  }

  /**
   * A `File` that remembers the content hash it had when it was stored (used by `decodeValue`).
   *
   * @example
   * const f = File.restore("out.txt", recorded);
   * f.isStale(); // true when out.txt changed since
   */
  static restore(path: string, recordedHash: string): File {
    const file = new File(path);
    file.#recordedHash = recordedHash;
    return file;
  }

  /**
   * The absolute path used to access the file.
   *
   * @example
   * new File("a.txt").absolutePath; // "/home/me/project/a.txt"
   */
  get absolutePath(): string {
    return this.#absolutePath;
  }

  /**
   * The content hash recorded when this `File` was stored, or `undefined` for a new `File`.
   *
   * @example
   * decodeValue(encodeValue(new File("a.txt"))).recordedHash; // the hash of a.txt then
   */
  get recordedHash(): string | undefined {
    return this.#recordedHash;
  }

  /**
   * The content as UTF-8 text.
   *
   * @example
   * const text = await new File("notes.md").read();
   */
  async read(): Promise<string> {
    return readFile(this.#absolutePath, "utf8");
  }

  /**
   * The content as bytes.
   *
   * @example
   * const bytes = await new File("image.png").readBuffer();
   */
  async readBuffer(): Promise<Buffer> {
    return readFile(this.#absolutePath);
  }

  /**
   * Replaces the content, creating parent directories as needed.
   *
   * @example
   * await new File("out/data.json").write(JSON.stringify(rows));
   */
  async write(data: string | Uint8Array): Promise<void> {
    await mkdir(dirname(this.#absolutePath), { recursive: true });
    forgetFileHash(this.#absolutePath);
    try {
      await writeFile(this.#absolutePath, data);
    } finally {
      forgetFileHash(this.#absolutePath);
    }
  }

  /**
   * True when a regular file exists at the path.
   *
   * @example
   * if (!new File("cache.bin").exists()) await rebuild();
   */
  exists(): boolean {
    try {
      return statSync(this.#absolutePath).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Deletes the file; does nothing when it does not exist.
   *
   * @example
   * await new File("tmp.txt").remove();
   */
  async remove(): Promise<void> {
    try {
      await rm(this.#absolutePath, { force: true });
    } finally {
      forgetFileHash(this.#absolutePath);
    }
  }

  /**
   * The sha256 hex of the content, or {@link MISSING_FILE_HASH} when the file does not exist.
   * Synchronous and memoised, so hashing an unchanged file again costs one `stat`.
   *
   * @example
   * new File("a.txt").hash(); // "2cf24dba..." for "hello"
   */
  hash(): string {
    return hashFileSync(this.#absolutePath);
  }

  /**
   * True when this `File` came from a stored value and the file has since changed or been
   * deleted. A `File` created with `new File()` is never stale.
   *
   * @example
   * const out = decodeValue(stored) as File;
   * if (out.isStale()) rerun();
   */
  isStale(): boolean {
    return this.#recordedHash !== undefined && this.hash() !== this.#recordedHash;
  }

  /**
   * `File(path)`, for messages.
   *
   * @example
   * String(new File("a.txt")); // "File(a.txt)"
   */
  toString(): string {
    return `File(${this.path})`;
  }
}
