import { afterEach, describe, expect, it } from "vitest";
import { SerializationError } from "../../src/errors.js";
import { decodeValue, encodeValue } from "../../src/values/codec.js";

function decodeError(text: string): SerializationError {
  try {
    decodeValue(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    return error as SerializationError;
  }
  throw new Error(`expected decoding ${text} to fail`);
}

describe("decoding hostile input", () => {
  afterEach(() => {
    // If anything polluted Object.prototype, the assertions below fail; clean up regardless.
    delete (Object.prototype as Record<string, unknown>)["polluted"];
    delete (globalThis as Record<string, unknown>)["hacked"];
  });

  it("keeps __proto__ keys as own data properties", () => {
    const back = decodeValue('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, "__proto__")).toBe(true);
    expect(back["polluted"]).toBeUndefined();
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("keeps __proto__ keys inside wrapped objects, maps and error properties as data", () => {
    const wrapped = decodeValue('{"$":"obj","v":{"$":1,"__proto__":{"polluted":true}}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(wrapped)).toBe(Object.prototype);
    expect(wrapped["$"]).toBe(1);
    const error = decodeValue('{"$":"err","name":"Error","msg":"m","props":{"__proto__":{"polluted":true}}}') as Error;
    expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("round-trips objects carrying a __proto__ own key without touching prototypes", () => {
    const value = JSON.parse('{"nested":{"__proto__":{"polluted":true}}}') as Record<string, unknown>;
    const back = decodeValue(encodeValue(value)) as { nested: object };
    expect(Object.getPrototypeOf(back.nested)).toBe(Object.prototype);
    expect(Object.hasOwn(back.nested, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("rejects unknown tags, including names of Object.prototype members", () => {
    for (const tag of ["nope", "constructor", "__proto__", "toString", "Function", "eval"]) {
      expect(decodeError(JSON.stringify({ $: tag, v: "globalThis.hacked = 1" })).message).toContain("unknown value tag");
    }
    expect((globalThis as Record<string, unknown>)["hacked"]).toBeUndefined();
  });

  it("rejects unregistered custom types, saying how to fix it", () => {
    const error = decodeError('{"$":"ext","t":"evil","v":"process.exit(1)"}');
    expect(error.message).toContain('unknown value type "evil"');
    expect(error.message).toContain("registerValueCodec");
  });

  it("rejects a custom value stored by hash only", () => {
    expect(decodeError('{"$":"ext","t":"constructor","h":"abc"}')).toBeInstanceOf(SerializationError);
  });

  it("never treats data as code in special numbers, bigints and binary types", () => {
    expect(decodeError('{"$":"num","v":"toString"}').message).toContain("special number");
    expect(decodeError('{"$":"big","v":"1; globalThis.hacked = 1"}').message).toContain("malformed bigint");
    expect(decodeError('{"$":"bin","t":"constructor","v":""}').message).toContain("unknown binary type");
    expect(decodeError('{"$":"bin","t":"Function","v":""}').message).toContain("unknown binary type");
    expect((globalThis as Record<string, unknown>)["hacked"]).toBeUndefined();
  });

  it("revives errors only as known error classes", () => {
    for (const name of ["constructor", "__proto__", "Function", "Object"]) {
      const error = decodeValue(JSON.stringify({ $: "err", name, msg: "m" })) as Error;
      expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
      expect(error.name).toBe(name);
      expect(error.message).toBe("m");
    }
  });

  it("reports malformed values as SerializationError with the place", () => {
    expect(decodeError("not json").message).toContain("not JSON");
    expect(decodeError('{"$":"re","src":"(","flags":""}').message).toContain("malformed regular expression");
    expect(decodeError('{"$":"map","v":[[1]]}').message).toContain("[key, value]");
    expect(decodeError('{"$":"date","v":"yesterday"}').message).toContain("date");
    expect(decodeError('{"$":"bin","t":"Int32Array","v":"AQI="}').message).toContain("whole number of elements");
    expect(decodeError('{"$":"file","p":1,"h":"x"}').message).toContain('field "p"');
    const nested = decodeError('{"a":[1,{"$":"num","v":"x"}]}');
    expect(nested.path).toBe("value.a[1]");
  });

  it("turns deeply nested input into a SerializationError", () => {
    const text = "[".repeat(200_000) + "]".repeat(200_000);
    expect(decodeError(text)).toBeInstanceOf(SerializationError);
  });
});
