import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeValue, encodeInOrder, encodeValue, hashValue } from "../../src/values/codec.js";
import { storedText, valueText } from "../../src/scheduler/value-text.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * Stored values keep insertion order (objects, Maps, Sets) so they decode as they were; hashes
 * and `encodeValue` stay canonical (sorted), so key order never changes a cache key.
 */
describe("stored texts keep insertion order, hashes stay canonical", () => {
  const value = { z: 1, a: { y: [3, { c: 1, b: 2 }], b: 2 }, m: new Map<string, number>([["k2", 1], ["k1", 2]]), s: new Set(["b", "a"]) };

  it("encodes in insertion order and says when that differs from the canonical text", () => {
    const r = encodeInOrder(value);
    expect(r.canonical).toBe(false);
    expect(r.text).toBe('{"z":1,"a":{"y":[3,{"c":1,"b":2}],"b":2},"m":{"$":"map","v":[["k2",1],["k1",2]]},"s":{"$":"set","v":["b","a"]}}');
    expect(encodeInOrder({ a: 1, b: [{ c: 2, d: 3 }] })).toEqual({ text: '{"a":1,"b":[{"c":2,"d":3}]}', canonical: true });
    expect(encodeInOrder({ a: 1, b: [{ c: 2, d: 3 }] }).text).toBe(encodeValue({ b: [{ d: 3, c: 2 }], a: 1 }));
  });

  it("decodes with the original order; canonical (sorted) texts stored earlier decode as before", () => {
    const back = decodeValue(encodeInOrder(value).text) as typeof value;
    expect(Object.keys(back)).toEqual(["z", "a", "m", "s"]);
    expect(Object.keys(back.a)).toEqual(["y", "b"]);
    expect(Object.keys(back.a.y[1] as object)).toEqual(["c", "b"]);
    expect([...back.m.keys()]).toEqual(["k2", "k1"]);
    expect([...back.s]).toEqual(["b", "a"]);
    expect(back).toEqual(value);
    const old = decodeValue(encodeValue(value)) as typeof value;
    expect(Object.keys(old)).toEqual(["a", "m", "s", "z"]);
    expect(old).toEqual(value);
  });

  it("keeps the hashes of arguments and results: those of the canonical text", () => {
    const reordered = { z: 1, a: { y: [3, { b: 2, c: 1 }], b: 2 }, m: new Map<string, number>([["k1", 2], ["k2", 1]]), s: new Set(["a", "b"]) };
    const arg = valueText(value, "argument");
    expect(arg.text).toBe(encodeInOrder(value).text);
    expect(arg.hash).toBe(hashValue(value));
    expect(arg.hash).toBe(sha256(encodeValue(value)));
    expect(valueText(reordered, "argument").hash).toBe(arg.hash);
    const result = storedText(value, "result");
    expect(result.text).toBe(arg.text);
    expect(result.hash).toBe(sha256(encodeValue(value)));
    expect(storedText(reordered, "result").hash).toBe(result.hash);
    expect(storedText({ a: 1, b: 2 }, "result")).toEqual({ text: '{"a":1,"b":2}', hash: sha256('{"a":1,"b":2}') });
  });
});
