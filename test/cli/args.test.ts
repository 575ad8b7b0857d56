import { describe, expect, it } from "vitest";
import { bindArgs, paramsOf, parseValue } from "../../src/cli/args.js";
import { UsageError } from "../../src/errors.js";

describe("parseValue", () => {
  it("reads numbers, booleans, null and JSON", () => {
    expect(parseValue("3")).toBe(3);
    expect(parseValue("-1.5")).toBe(-1.5);
    expect(parseValue("1e3")).toBe(1000);
    expect(parseValue("true")).toBe(true);
    expect(parseValue("false")).toBe(false);
    expect(parseValue("null")).toBe(null);
    expect(parseValue('{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(parseValue("[1, \"x\"]")).toEqual([1, "x"]);
  });
  it("keeps other text as a string", () => {
    expect(parseValue("world")).toBe("world");
    expect(parseValue("hello world")).toBe("hello world");
    expect(parseValue("007")).toBe("007");
    expect(parseValue("0x10")).toBe("0x10");
    expect(parseValue("{not json}")).toBe("{not json}");
    expect(parseValue("")).toBe("");
    expect(parseValue("examples/data")).toBe("examples/data");
  });
  it("forces a string with JSON quotes", () => {
    expect(parseValue('"3"')).toBe("3");
    expect(parseValue('"true"')).toBe("true");
  });
  it("keeps integers too large for a number as strings", () => {
    expect(parseValue("12345678901234567890")).toBe("12345678901234567890");
  });
});

describe("paramsOf", () => {
  const names = (src: string) => paramsOf(src).map((p) => p.name);
  it("reads arrow functions", () => {
    expect(names("(a, b) => a + b")).toEqual(["a", "b"]);
    expect(names("async (name) => `hi ${name}`")).toEqual(["name"]);
    expect(names("x => x * 2")).toEqual(["x"]);
    expect(names("async x => x")).toEqual(["x"]);
    expect(names("() => 1")).toEqual([]);
  });
  it("reads function declarations and methods", () => {
    expect(names("function add(a, b) { return a + b; }")).toEqual(["a", "b"]);
    expect(names("async function (dir, out) {}")).toEqual(["dir", "out"]);
    expect(names("main(name, count) { return 1 }")).toEqual(["name", "count"]);
  });
  it("handles defaults, destructuring, rest and comments", () => {
    const ps = paramsOf("(a = f(1, 2), { b, c } = {}, /* note, here */ [d, e], ...rest) => 0");
    expect(ps).toEqual([
      { name: "a", rest: false, optional: true },
      { name: undefined, rest: false, optional: true },
      { name: undefined, rest: false, optional: false },
      { name: "rest", rest: true, optional: false },
    ]);
    expect(names('(sep = ",", n = 2) => 0')).toEqual(["sep", "n"]);
  });
});

describe("bindArgs", () => {
  const ps = paramsOf("(name, count, maxDepth) => 0");
  it("binds flags by name and parses values", () => {
    expect(bindArgs(ps, ["--name", "world", "--count", "3"])).toEqual(["world", 3]);
    expect(bindArgs(ps, ["--count=3", "--name=world"])).toEqual(["world", 3]);
    expect(bindArgs(ps, ["--max-depth", "2"])).toEqual([undefined, undefined, 2]);
    expect(bindArgs(ps, ["--maxDepth", "2"])).toEqual([undefined, undefined, 2]);
  });
  it("fills positional values into the parameters not named", () => {
    expect(bindArgs(ps, ["world", "3"])).toEqual(["world", 3]);
    expect(bindArgs(ps, ["--name", "x", "4", "5"])).toEqual(["x", 4, 5]);
    expect(bindArgs(ps, ["--", "--name"])).toEqual(["--name"]);
  });
  it("passes negative numbers as values", () => {
    expect(bindArgs(ps, ["--count", "-3"])).toEqual([undefined, -3]);
  });
  it("gives the extras to a rest parameter", () => {
    expect(bindArgs(paramsOf("(first, ...rest) => 0"), ["1", "2", "3"])).toEqual([1, 2, 3]);
  });
  it("rejects a flag without a value", () => {
    expect(() => bindArgs(ps, ["--count"])).toThrow(UsageError);
    expect(() => bindArgs(ps, ["--count"])).toThrow(/--count needs a value/);
    expect(() => bindArgs(ps, ["--count", "--name", "x"])).toThrow(/--count needs a value/);
  });
  it("rejects unknown, repeated and surplus arguments", () => {
    expect(() => bindArgs(ps, ["--nope", "1"], "hello.main")).toThrow(/unknown parameter --nope for hello.main; parameters of hello.main: --name --count --maxDepth/);
    expect(() => bindArgs(ps, ["--name", "a", "--name", "b"])).toThrow(/given twice/);
    expect(() => bindArgs(ps, ["1", "2", "3", "4"])).toThrow(/too many arguments/);
    expect(() => bindArgs(paramsOf("() => 0"), ["1"], "t")).toThrow(/t takes no parameters/);
  });
});

describe("maskPasswords", () => {
  it("hides URL passwords in a recorded command line", async () => {
    const { maskPasswords } = await import("../../src/cli/run.js");
    expect(maskPasswords("durun run f.ts main --db postgres://me:s3cr3t@db:5432/x --name a")).toBe("durun run f.ts main --db postgres://me:***@db:5432/x --name a");
    expect(maskPasswords("durun run f.ts main --db .durun/durun.db")).toBe("durun run f.ts main --db .durun/durun.db");
  });
});
