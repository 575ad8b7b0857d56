import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collectFiles, decodeValue, encodeValue, findStale, registerValueCodec, type JsonValue } from "../../src/values/codec.js";
import { Dir } from "../../src/values/dir.js";
import { File } from "../../src/values/file.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "durun-collect-"));
  mkdirSync(join(root, "d"));
  for (const name of ["a", "b", "c", "k", "s"]) writeFileSync(join(root, `${name}.txt`), name);
  writeFileSync(join(root, "d", "x.txt"), "x");
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

class Holder {
  constructor(readonly inner: unknown) {}
}

describe("collectFiles", () => {
  it("finds Files in arrays, objects, Maps, Sets, errors, custom values and Dirs", () => {
    const f = (name: string): File => new File(join(root, name));
    const unregister = registerValueCodec<Holder>({
      tag: "test.Holder",
      test: (v): v is Holder => v instanceof Holder,
      encode: (h, encodeChild) => [encodeChild(h.inner)],
      decode: (data, decodeChild) => new Holder(decodeChild((data as JsonValue[])[0] ?? null)),
    });
    try {
      const shared = f("a.txt");
      const value = {
        list: [shared, shared, { deep: f("b.txt") }],
        map: new Map<unknown, unknown>([[f("k.txt"), 1]]),
        set: new Set([f("s.txt")]),
        error: new Error("e", { cause: f("c.txt") }),
        custom: new Holder(new Holder(f("c.txt"))),
        dir: new Dir(join(root, "d")),
        other: [1, "x", null, undefined],
      };
      const paths = collectFiles(value).map((file) => file.path);
      expect(paths.sort()).toStrictEqual(
        ["a.txt", "b.txt", "c.txt", "c.txt", "d/x.txt", "k.txt", "s.txt"].map((n) => join(root, n)).sort(),
      );
    } finally {
      unregister();
    }
  });

  it("returns nothing for values without files, and terminates on cycles", () => {
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic["self"] = cyclic;
    expect(collectFiles(cyclic)).toStrictEqual([]);
    expect(collectFiles(42)).toStrictEqual([]);
  });

  it("gives a stored Dir's recorded files, which notice changes", () => {
    const back = decodeValue(encodeValue({ out: new Dir(join(root, "d")) }));
    const files = collectFiles(back);
    expect(files.map((f) => f.path)).toStrictEqual([join(root, "d", "x.txt")]);
    rmSync(join(root, "d", "x.txt"));
    expect(files[0]?.isStale()).toBe(true);
  });
});

describe("findStale", () => {
  it("is empty while stored files are unchanged and lists those that changed", () => {
    const stored = encodeValue({ a: new File(join(root, "a.txt")), d: new Dir(join(root, "d")), keep: new File(join(root, "b.txt")) });
    expect(findStale(decodeValue(stored))).toStrictEqual([]);
    writeFileSync(join(root, "a.txt"), "changed");
    writeFileSync(join(root, "d", "new.txt"), "added");
    const stale = findStale(decodeValue(stored)).map(String);
    expect(stale.sort()).toStrictEqual([`Dir(${join(root, "d")})`, `File(${join(root, "a.txt")})`]);
  });

  it("never reports new (not stored) Files or Dirs", () => {
    expect(findStale([new File(join(root, "missing.txt")), new Dir(join(root, "missing"))])).toStrictEqual([]);
  });
});
