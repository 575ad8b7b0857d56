import { describe, expect, it } from "vitest";
import { SerializationError, TaskError } from "../../src/errors.js";
import { decodeValue, encodeValue, hashValue } from "../../src/values/codec.js";

/** Encodes, decodes, and checks the value and its hash survive. */
function roundTrip(value: unknown): unknown {
  const text = encodeValue(value);
  const back = decodeValue(text);
  expect(encodeValue(back)).toBe(text);
  expect(hashValue(back)).toBe(hashValue(value));
  return back;
}

describe("canonical encoding", () => {
  it("does not depend on object key order", () => {
    const a = { x: 1, y: { p: [1, 2], q: "s" }, z: null, "10": 1, "2": 2 };
    const b = { z: null, y: { q: "s", p: [1, 2] }, "2": 2, x: 1, "10": 1 };
    expect(encodeValue(a)).toBe(encodeValue(b));
    expect(hashValue(a)).toBe(hashValue(b));
  });

  it("does not depend on Map and Set insertion order", () => {
    const m1 = new Map<unknown, unknown>([["b", 1], [2, { k: 1 }], ["a", [3]]]);
    const m2 = new Map<unknown, unknown>([["a", [3]], ["b", 1], [2, { k: 1 }]]);
    expect(encodeValue(m1)).toBe(encodeValue(m2));
    expect(hashValue(new Set([3, "x", 1n]))).toBe(hashValue(new Set([1n, 3, "x"])));
  });

  it("orders Map entries with equal keys by value, so duplicates by encoding stay canonical", () => {
    const k1 = { id: 1 };
    const k2 = { id: 1 };
    const m1 = new Map<unknown, unknown>([[k1, "b"], [k2, "a"]]);
    const m2 = new Map<unknown, unknown>([[k2, "a"], [k1, "b"]]);
    expect(encodeValue(m1)).toBe(encodeValue(m2));
  });

  it("writes plain JSON for plain JSON values", () => {
    expect(encodeValue({ b: [1, "x", true, null], a: 1.5 })).toBe('{"a":1.5,"b":[1,"x",true,null]}');
  });

  it("wraps objects that have a '$' key so they are not mistaken for tagged values", () => {
    const value = { $: "big", v: "1" };
    const back = roundTrip(value);
    expect(back).toStrictEqual(value);
    expect(hashValue(value)).not.toBe(hashValue(1n));
  });
});

describe("round trips", () => {
  const cases: Array<[string, unknown]> = [
    ["null", null],
    ["undefined", undefined],
    ["true", true],
    ["false", false],
    ["integer", 42],
    ["float", -3.25],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["-0", -0],
    ["max safe", Number.MAX_SAFE_INTEGER],
    ["tiny", 5e-324],
    ["empty string", ""],
    ["unicode", "héllo 🌍 \u0000 \n \"q\""],
    ["bigint", 12345678901234567890123n],
    ["negative bigint", -5n],
    ["date", new Date("2024-02-03T04:05:06.789Z")],
    ["regexp", /a+b\/c/giu],
    ["empty array", []],
    ["array with undefined", [1, undefined, null]],
    ["nested", { a: [{ b: { c: [1, { d: "e" }] } }] }],
    ["undefined property", { a: undefined, b: 1 }],
    ["map", new Map<unknown, unknown>([[1, "a"], ["1", "b"], [{ k: [1] }, new Set([1])]])],
    ["set", new Set<unknown>([1, "1", 1n, null, undefined, [1]])],
    ["Uint8Array", new Uint8Array([0, 1, 255])],
    ["Buffer", Buffer.from("hello")],
    ["Int16Array", new Int16Array([-1, 2, 32767])],
    ["Float64Array", new Float64Array([1.5, Number.NaN, -0])],
    ["BigInt64Array", new BigInt64Array([-1n, 2n ** 62n])],
    ["Uint8ClampedArray", new Uint8ClampedArray([1, 2])],
    ["ArrayBuffer", new Uint8Array([9, 8, 7]).buffer],
    ["DataView", new DataView(new Uint8Array([1, 2, 3, 4]).buffer)],
    ["key named __proto__", JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown],
    ["key named constructor", { constructor: 1, toString: "x", hasOwnProperty: null }],
    ["null-prototype object (as plain)", Object.assign(Object.create(null) as object, { a: 1 })],
  ];

  it.each(cases)("%s", (_name, value) => {
    const back = roundTrip(value);
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === null) expect(back).toEqual({ ...(value as object) });
    else expect(back).toStrictEqual(value);
  });

  it("keeps -0 as -0 and NaN as NaN", () => {
    expect(Object.is(decodeValue(encodeValue(-0)), -0)).toBe(true);
    expect(Number.isNaN(decodeValue(encodeValue(Number.NaN)))).toBe(true);
  });

  it("keeps a key whose value is undefined distinct from a missing key", () => {
    const back = decodeValue(encodeValue({ a: undefined })) as object;
    expect(Object.hasOwn(back, "a")).toBe(true);
    expect(Object.hasOwn(decodeValue(encodeValue({})) as object, "a")).toBe(false);
  });

  it("encodes array holes as undefined", () => {
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    expect(decodeValue(encodeValue(sparse))).toStrictEqual([1, undefined, 3]);
  });

  it("round-trips an invalid date", () => {
    const back = roundTrip(new Date(Number.NaN)) as Date;
    expect(back).toBeInstanceOf(Date);
    expect(Number.isNaN(back.getTime())).toBe(true);
  });

  it("stores only the viewed bytes of a typed array view", () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5]);
    const back = roundTrip(whole.subarray(1, 3)) as Uint8Array;
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...back]).toEqual([2, 3]);
    expect(back.buffer.byteLength).toBe(2);
  });

  it("returns Buffer as Buffer and Uint8Array as Uint8Array", () => {
    expect(Buffer.isBuffer(decodeValue(encodeValue(Buffer.from("a"))))).toBe(true);
    expect(Buffer.isBuffer(decodeValue(encodeValue(new Uint8Array([97]))))).toBe(false);
  });

  it("keeps shared (non-cyclic) references, as copies", () => {
    const shared = { n: 1 };
    const back = roundTrip({ a: shared, b: shared, c: [shared, shared] }) as { a: unknown; b: unknown };
    expect(back.a).toStrictEqual({ n: 1 });
    expect(back.b).toStrictEqual({ n: 1 });
  });

  it("round-trips errors with name, message, cause, own properties and stack", () => {
    const cause = new RangeError("inner");
    const error = Object.assign(new TypeError("outer", { cause }), { code: "E_X", detail: { n: 1n } });
    const back = roundTrip(error) as TypeError & { code: string; detail: unknown };
    expect(back).toBeInstanceOf(TypeError);
    expect(back.name).toBe("TypeError");
    expect(back.message).toBe("outer");
    expect(back.code).toBe("E_X");
    expect(back.detail).toStrictEqual({ n: 1n });
    expect(back.cause).toBeInstanceOf(RangeError);
    expect((back.cause as Error).message).toBe("inner");
    expect(back.stack).toBe(error.stack);
  });

  it("revives durun errors as their class, with their fields, without running their constructor", () => {
    const error = new TaskError("task add failed", { taskName: "add", chain: ["main"], attempt: 2 });
    const back = roundTrip(error) as TaskError;
    expect(back).toBeInstanceOf(TaskError);
    expect(back.name).toBe("TaskError");
    expect(back.code).toBe("TASK_FAILED");
    expect(back.taskName).toBe("add");
    expect(back.chain).toStrictEqual(["main"]);
    expect(back.attempt).toBe(2);
  });

  it("keeps the name of errors of unknown classes", () => {
    class MyError extends Error {
      override name = "MyError";
    }
    const back = roundTrip(new MyError("m")) as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("MyError");
    expect(back.message).toBe("m");
  });

  it("round-trips AggregateError with its errors", () => {
    const back = roundTrip(new AggregateError([new Error("a"), new Error("b")], "all")) as AggregateError;
    expect(back).toBeInstanceOf(AggregateError);
    expect((back.errors as Error[]).map((e) => e.message)).toStrictEqual(["a", "b"]);
  });
});

describe("hashing", () => {
  it("is a 64-character lowercase sha256 hex", () => {
    expect(hashValue([1, "abc", { a: 2 }])).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is the same for equal values built separately", () => {
    expect(hashValue([1, "abc", { a: 2, b: [new Date(1)] }])).toBe(hashValue([1, "abc", { b: [new Date(1)], a: 2 }]));
  });

  const distinct: Array<[string, unknown, unknown]> = [
    ["1 vs '1'", 1, "1"],
    ["[] vs {}", [], {}],
    ["undefined vs null", undefined, null],
    ["{a: undefined} vs {}", { a: undefined }, {}],
    ["Map vs object", new Map([["a", 1]]), { a: 1 }],
    ["Set vs array", new Set([1]), [1]],
    ["-0 vs 0", -0, 0],
    ["1n vs 1", 1n, 1],
    ["Date vs its time", new Date(0), 0],
    ["true vs 'true'", true, "true"],
    ["[1,2] vs [2,1]", [1, 2], [2, 1]],
    ["[undefined] vs []", [undefined], []],
    ["Uint8Array vs Int8Array", new Uint8Array([1]), new Int8Array([1])],
    ["different bytes", new Uint8Array([1, 2]), new Uint8Array([2, 1])],
    ["Buffer vs Uint8Array", Buffer.from([1]), new Uint8Array([1])],
    ["Map key 1 vs '1'", new Map([[1, 1]]), new Map([["1", 1]])],
    ["NaN vs 'NaN'", Number.NaN, "NaN"],
    ["nested", { a: { b: 1 } }, { a: { b: 2 } }],
    ["error message", new Error("a"), new Error("b")],
    ["error class", new Error("a"), new TypeError("a")],
  ];

  it.each(distinct)("distinguishes %s", (_name, a, b) => {
    expect(hashValue(a)).not.toBe(hashValue(b));
    expect(encodeValue(a)).not.toBe(encodeValue(b));
  });

  it("leaves error stacks out of the hash but keeps them in the encoding", () => {
    const a = new Error("same");
    const b = new Error("same");
    b.stack = "Error: same\n    at somewhere else";
    expect(hashValue(a)).toBe(hashValue(b));
    expect(encodeValue(a)).not.toBe(encodeValue(b));
  });
});

describe("values that cannot be stored", () => {
  function errorOf(fn: () => unknown): SerializationError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(SerializationError);
      return error as SerializationError;
    }
    throw new Error("expected a SerializationError");
  }

  it("rejects a function, naming where it is and what to do", () => {
    const error = errorOf(() => hashValue([1, { cb: () => 1 }], { root: "args" }));
    expect(error.message).toContain("cannot store a function");
    expect(error.message).toContain("at args[1].cb");
    expect(error.message).toContain("wrap it with task()");
    expect(error.path).toBe("args[1].cb");
    expect(error.code).toBe("SERIALIZATION");
  });

  it("rejects symbols and symbol keys", () => {
    expect(errorOf(() => encodeValue({ a: [Symbol("s")] })).message).toMatch(/symbol.*at value\.a\[0\]/);
    expect(errorOf(() => encodeValue({ [Symbol("k")]: 1 })).message).toContain("symbol key");
  });

  it("rejects cycles, naming both ends", () => {
    const a: Record<string, unknown> = { x: 1 };
    a["self"] = { inner: [a] };
    const error = errorOf(() => encodeValue(a));
    expect(error.message).toContain("cycle at value.self.inner[0]");
    expect(error.message).toContain("refers back to value");
    const m = new Map<string, unknown>();
    m.set("me", m);
    expect(errorOf(() => hashValue(m)).message).toContain("cycle at value.get(\"me\")");
    const e = new Error("loop");
    (e as { cause?: unknown }).cause = e;
    expect(errorOf(() => encodeValue(e)).message).toContain("cycle at value.cause");
  });

  it("rejects instances of unregistered classes with advice", () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const error = errorOf(() => encodeValue({ p: new Point(1) }));
    expect(error.message).toContain("instance of Point at value.p");
    expect(error.message).toContain("register a codec");
    expect(error.message).toContain("plain object");
  });

  it("rejects Promises and weak collections", () => {
    expect(errorOf(() => encodeValue([Promise.resolve(1)])).message).toContain("Promise at value[0]");
    expect(errorOf(() => encodeValue(new WeakMap())).message).toContain("WeakMap");
    expect(errorOf(() => encodeValue(new WeakSet())).message).toContain("WeakSet");
  });

  it("rejects values nested too deeply with a SerializationError, not a stack overflow", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(errorOf(() => encodeValue(deep)).message).toContain("nested too deeply");
  });
});
