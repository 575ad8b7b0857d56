import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { decodeValue, encodeValue, hashValue } from "../../src/values/codec.js";
import { File, MISSING_FILE_HASH } from "../../src/values/file.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "durun-file-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("File", () => {
  it("writes (creating parent directories), reads and removes", async () => {
    const file = new File(join(dir, "a", "b", "c.txt"));
    expect(file.exists()).toBe(false);
    await file.write("héllo");
    expect(file.exists()).toBe(true);
    expect(await file.read()).toBe("héllo");
    expect((await file.readBuffer()).equals(Buffer.from("héllo"))).toBe(true);
    await file.write(new Uint8Array([104, 105]));
    expect(await file.read()).toBe("hi");
    await file.remove();
    expect(file.exists()).toBe(false);
    await file.remove(); // removing a missing file is fine
    expect(file.exists()).toBe(false);
  });

  it("keeps the path as given and resolves it against the working directory", () => {
    const rel = relative(process.cwd(), join(dir, "x.txt"));
    const file = new File(rel);
    expect(file.path).toBe(rel);
    expect(file.absolutePath).toBe(join(dir, "x.txt"));
  });

  it("rejects an empty path", () => {
    expect(() => new File("")).toThrow(UsageError);
  });

  it("hashes the bytes with sha256", async () => {
    const file = new File(join(dir, "a.txt"));
    await file.write("hello");
    expect(file.hash()).toBe(sha256("hello"));
  });

  it("hashes large files in chunks to the same sha256", async () => {
    const content = "0123456789abcdef".repeat(200_000); // 3.2 MB
    const file = new File(join(dir, "big.txt"));
    await file.write(content);
    expect(file.hash()).toBe(sha256(content));
  });

  it("changes its hash when the content changes, and is equal for equal content", async () => {
    const a = new File(join(dir, "a.txt"));
    const b = new File(join(dir, "b.txt"));
    await a.write("one");
    await b.write("one");
    expect(a.hash()).toBe(b.hash());
    const before = a.hash();
    await a.write("two"); // same size
    expect(a.hash()).not.toBe(before);
    expect(a.hash()).toBe(sha256("two"));
  });

  it("sees a change made behind its back, even with the same size and mtime", () => {
    const path = join(dir, "c.txt");
    writeFileSync(path, "aaa");
    const file = new File(path);
    const first = file.hash();
    const { atime, mtime } = statSync(path);
    writeFileSync(path, "bbb");
    utimesSync(path, atime, mtime);
    expect(file.hash()).not.toBe(first);
    expect(file.hash()).toBe(sha256("bbb"));
  });

  it("hashes a missing file to the distinct missing hash instead of throwing", () => {
    const file = new File(join(dir, "nope.txt"));
    expect(file.hash()).toBe(MISSING_FILE_HASH);
    expect(new File(join(dir, "empty")).hash()).toBe(MISSING_FILE_HASH);
    writeFileSync(join(dir, "empty"), "");
    expect(new File(join(dir, "empty")).hash()).toBe(sha256(""));
    expect(new File(dir).hash()).toBe(MISSING_FILE_HASH); // a directory is not a file
  });

  it("is never stale when created with new File()", async () => {
    const file = new File(join(dir, "a.txt"));
    await file.write("x");
    expect(file.recordedHash).toBeUndefined();
    expect(file.isStale()).toBe(false);
  });

  it("remembers its hash when stored, and becomes stale when changed or deleted", async () => {
    const file = new File(join(dir, "out.txt"));
    await file.write("v1");
    const stored = encodeValue({ out: file });
    const back = (decodeValue(stored) as { out: File }).out;
    expect(back).toBeInstanceOf(File);
    expect(back.path).toBe(file.path);
    expect(back.recordedHash).toBe(sha256("v1"));
    expect(back.isStale()).toBe(false);
    await file.write("v2");
    expect(back.isStale()).toBe(true);
    await file.write("v1");
    expect(back.isStale()).toBe(false);
    await file.remove();
    expect(back.isStale()).toBe(true);
  });

  it("hashes as a value by path and content", async () => {
    const a = new File(join(dir, "a.txt"));
    const b = new File(join(dir, "b.txt"));
    await a.write("same");
    await b.write("same");
    expect(hashValue(a)).not.toBe(hashValue(b)); // different paths
    const before = hashValue([a]);
    expect(hashValue([new File(a.path)])).toBe(before);
    await a.write("changed");
    expect(hashValue([a])).not.toBe(before);
  });

  it("round-trips with the same value hash while unchanged", async () => {
    const file = new File(join(dir, "r.txt"));
    await file.write("r");
    const back = decodeValue(encodeValue(file)) as File;
    expect(back).toEqual(file);
    expect(hashValue(back)).toBe(hashValue(file));
    expect(String(back)).toBe(`File(${file.path})`);
  });
});
