import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeValue, encodeValue, hashValue } from "../../src/values/codec.js";
import { Dir, MISSING_DIR_HASH } from "../../src/values/dir.js";
import { File } from "../../src/values/file.js";

let root: string;
let data: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "durun-dir-"));
  data = join(root, "data");
  mkdirSync(join(data, "sub", "deeper"), { recursive: true });
  writeFileSync(join(data, "b.txt"), "b");
  writeFileSync(join(data, "a.txt"), "a");
  writeFileSync(join(data, "sub", "c.txt"), "c");
  writeFileSync(join(data, "sub", "deeper", "d.txt"), "d");
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("Dir", () => {
  it("lists every file recursively, sorted, as Files under its path", () => {
    const dir = new Dir(data);
    expect(dir.exists()).toBe(true);
    const files = dir.files();
    expect(files.every((f) => f instanceof File)).toBe(true);
    expect(files.map((f) => f.path)).toStrictEqual(
      ["a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt"].map((rel) => join(data, rel)),
    );
  });

  it("hashes the same for the same content in another place, and not like a missing or empty dir", () => {
    const copy = join(root, "copy");
    mkdirSync(join(copy, "sub", "deeper"), { recursive: true });
    for (const rel of ["a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt"]) writeFileSync(join(copy, rel), rel.slice(-5, -4));
    expect(new Dir(copy).hash()).toBe(new Dir(data).hash());
    expect(new Dir(join(root, "missing")).hash()).toBe(MISSING_DIR_HASH);
    mkdirSync(join(root, "empty"));
    expect(new Dir(join(root, "empty")).hash()).not.toBe(MISSING_DIR_HASH);
    expect(new Dir(join(root, "missing")).files()).toStrictEqual([]);
  });

  it("changes its hash when a file is added, removed, modified or renamed", () => {
    const dir = new Dir(data);
    const seen = new Set([dir.hash()]);
    writeFileSync(join(data, "sub", "new.txt"), "n");
    seen.add(dir.hash());
    writeFileSync(join(data, "a.txt"), "A");
    seen.add(dir.hash());
    rmSync(join(data, "sub", "new.txt"));
    seen.add(dir.hash());
    rmSync(join(data, "b.txt"));
    writeFileSync(join(data, "b2.txt"), "b");
    seen.add(dir.hash());
    expect(seen.size).toBe(5);
  });

  it("follows symbolic links to files and does not loop on linked directories", () => {
    symlinkSync(join(data, "a.txt"), join(data, "link.txt"));
    symlinkSync(data, join(data, "sub", "loop"));
    const rels = new Dir(data).files().map((f) => f.path.slice(data.length + 1));
    expect(rels).toContain("link.txt");
    expect(rels.filter((r) => r.includes("loop"))).toStrictEqual([]);
  });

  it("lists a directory linked twice under both names, whatever the entry order", () => {
    const shared = join(root, "shared");
    mkdirSync(shared);
    writeFileSync(join(shared, "s.txt"), "s");
    symlinkSync(shared, join(data, "link1"));
    symlinkSync(shared, join(data, "link2"));
    const rels = new Dir(data).files().map((f) => f.path.slice(data.length + 1));
    expect(rels.filter((r) => r.startsWith("link"))).toStrictEqual(["link1/s.txt", "link2/s.txt"]);
  });

  it("is stale after being stored when a file is added, removed or modified", () => {
    const stored = encodeValue(new Dir(data));
    const fresh = (): Dir => decodeValue(stored) as Dir;
    expect(fresh()).toBeInstanceOf(Dir);
    expect(fresh().isStale()).toBe(false);
    expect(new Dir(data).isStale()).toBe(false);

    writeFileSync(join(data, "sub", "added.txt"), "x");
    expect(fresh().isStale()).toBe(true);
    rmSync(join(data, "sub", "added.txt"));
    expect(fresh().isStale()).toBe(false);

    writeFileSync(join(data, "sub", "c.txt"), "C");
    expect(fresh().isStale()).toBe(true);
    writeFileSync(join(data, "sub", "c.txt"), "c");

    rmSync(join(data, "a.txt"));
    expect(fresh().isStale()).toBe(true);
  });

  it("remembers its files when stored", () => {
    const back = decodeValue(encodeValue(new Dir(data))) as Dir;
    const recorded = back.recordedFiles() ?? [];
    expect(recorded.map((f) => f.path)).toStrictEqual(new Dir(data).files().map((f) => f.path));
    expect(recorded.every((f) => !f.isStale())).toBe(true);
    writeFileSync(join(data, "b.txt"), "B");
    expect(recorded.filter((f) => f.isStale()).map((f) => f.path)).toStrictEqual([join(data, "b.txt")]);
  });

  it("hashes as a value by path and content, and round-trips with the same hash", () => {
    const dir = new Dir(data);
    const before = hashValue({ dir });
    const back = decodeValue(encodeValue({ dir })) as { dir: Dir };
    expect(back.dir.path).toBe(dir.path);
    expect(hashValue(back)).toBe(before);
    writeFileSync(join(data, "a.txt"), "changed");
    expect(hashValue({ dir })).not.toBe(before);
    expect(dir.file("a.txt").path).toBe(join(data, "a.txt"));
  });
});
