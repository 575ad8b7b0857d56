import { afterEach, describe, expect, it } from "vitest";
import { SerializationError, UsageError } from "../../src/errors.js";
import { decodeValue, encodeValue, hashString, hashValue, registerValueCodec, type JsonValue } from "../../src/values/codec.js";

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** A callable "task-like" value: a function carrying a name. */
type Named = ((...args: unknown[]) => unknown) & { taskName: string };
function named(name: string): Named {
  return Object.assign(() => name, { taskName: name });
}

/** A wrapper whose contents are arbitrary values (like an expression's arguments). */
class Box {
  constructor(readonly contents: unknown) {}
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});

function register<T>(codec: Parameters<typeof registerValueCodec<T>>[0]): void {
  cleanups.push(registerValueCodec(codec));
}

const pointCodec = {
  tag: "test.Point",
  test: (v: unknown): v is Point => v instanceof Point,
  encode: (p: Point): JsonValue => ({ y: p.y, x: p.x }),
  decode: (data: JsonValue): Point => {
    const d = data as { x: number; y: number };
    return new Point(d.x, d.y);
  },
};

describe("registerValueCodec", () => {
  it("stores, decodes and hashes a registered class", () => {
    register(pointCodec);
    const value = { p: new Point(1, 2), list: [new Point(3, 4)] };
    const text = encodeValue(value);
    expect(text).toContain('"t":"test.Point"');
    const back = decodeValue(text) as typeof value;
    expect(back.p).toBeInstanceOf(Point);
    expect(back).toStrictEqual(value);
    expect(hashValue(back)).toBe(hashValue(value));
    expect(hashValue(new Point(1, 2))).not.toBe(hashValue(new Point(2, 1)));
    expect(hashValue(new Point(1, 2))).not.toBe(hashValue({ x: 1, y: 2 }));
  });

  it("sorts the keys of what a codec returns, so its key order does not matter", () => {
    register(pointCodec);
    const other = { ...pointCodec, encode: (p: Point): JsonValue => ({ x: p.x, y: p.y }) };
    const first = encodeValue(new Point(1, 2));
    cleanups.push(registerValueCodec(other)); // same tag: replaces
    expect(encodeValue(new Point(1, 2))).toBe(first);
  });

  it("encodes nested values through encodeChild and decodes them through decodeChild", () => {
    register<Box>({
      tag: "test.Box",
      test: (v): v is Box => v instanceof Box,
      encode: (b, encodeChild) => ({ c: encodeChild(b.contents) }),
      decode: (data, decodeChild) => new Box(decodeChild((data as { c: JsonValue }).c)),
    });
    const value = new Box({ n: 10n, m: new Map([[1, new Box(undefined)]]), $: "dollar" });
    const back = decodeValue(encodeValue(value)) as Box;
    expect(back).toStrictEqual(value);
    expect(hashValue(back)).toBe(hashValue(value));
    expect(hashValue(new Box(1))).not.toBe(hashValue(new Box("1")));
  });

  it("names the place inside a custom value that cannot be stored", () => {
    register<Box>({
      tag: "test.Box",
      test: (v): v is Box => v instanceof Box,
      encode: (b, encodeChild) => [encodeChild(b.contents)],
      decode: (data, decodeChild) => new Box(decodeChild((data as JsonValue[])[0] ?? null)),
    });
    expect(() => encodeValue([new Box({ cb: () => 1 })], { root: "args" })).toThrow(/at args\[0\]<test\.Box>\.cb/);
    const cyclic = new Box(null);
    (cyclic as { contents: unknown }).contents = [cyclic];
    expect(() => encodeValue(cyclic)).toThrow(/cycle at value<test\.Box>\[0\]/);
  });

  it("lets functions be stored when a codec claims them, and uses the codec's hash", () => {
    register<Named>({
      tag: "test.Named",
      test: (v): v is Named => typeof v === "function" && "taskName" in v,
      encode: (f) => f.taskName,
      decode: (data) => named(String(data)),
      hash: (f) => hashString("named", f.taskName),
    });
    const back = decodeValue(encodeValue([named("add")])) as Named[];
    expect(back[0]?.taskName).toBe("add");
    expect(back[0]?.()).toBe("add");
    expect(hashValue(named("add"))).toBe(hashValue(back[0]));
    expect(hashValue(named("add"))).not.toBe(hashValue(named("mul")));
    expect(() => encodeValue(() => 1)).toThrow(SerializationError);
  });

  it("rejects codec output that is not JSON", () => {
    register<Point>({ ...pointCodec, encode: (p) => ({ x: Number.NaN, y: p.y }) });
    expect(() => encodeValue(new Point(1, 2))).toThrow(/codec "test\.Point" returned the number NaN/);
    register<Point>({ ...pointCodec, encode: () => ({ d: new Date() }) as unknown as JsonValue });
    expect(() => encodeValue(new Point(1, 2))).toThrow(/non-JSON value/);
  });

  it("reports codec decode failures as SerializationError with the cause", () => {
    register<Point>({
      ...pointCodec,
      decode: () => {
        throw new Error("bad point");
      },
    });
    const text = encodeValue(new Point(1, 2));
    expect(() => decodeValue(text)).toThrow(SerializationError);
    expect(() => decodeValue(text)).toThrow(/bad point/);
  });

  it("stops using a codec once unregistered", () => {
    const unregister = registerValueCodec(pointCodec);
    const text = encodeValue(new Point(1, 2));
    unregister();
    expect(() => encodeValue(new Point(1, 2))).toThrow(/register a codec/);
    expect(() => decodeValue(text)).toThrow(/unknown value type "test.Point"/);
  });

  it("validates codecs", () => {
    expect(() => registerValueCodec({ ...pointCodec, tag: "" })).toThrow(UsageError);
    expect(() => registerValueCodec({ ...pointCodec, decode: undefined as never })).toThrow(/decode\(\)/);
  });
});

describe("hashString", () => {
  it("joins parts unambiguously", () => {
    expect(hashString("ab", "c")).not.toBe(hashString("a", "bc"));
    expect(hashString("a", "")).not.toBe(hashString("a"));
    expect(hashString("1:a")).not.toBe(hashString("a"));
    expect(hashString("x", "y")).toBe(hashString("x", "y"));
    expect(hashString("x")).toMatch(/^[0-9a-f]{64}$/);
  });
});
