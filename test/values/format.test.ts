import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue, hashString, hashValue } from "../../src/values/codec.js";

/**
 * Stored values and cache keys depend on the exact format: these pins fail when it changes.
 * Changing them means every existing cache entry is invalidated; do it on purpose only.
 */
describe("stable format", () => {
  const value = {
    z: [1, -0, Number.NaN, undefined, null, "s"],
    a: 12n,
    d: new Date(0),
    m: new Map([["k", new Set([2, 1])]]),
    b: new Uint8Array([1, 2]),
    $: true,
  };

  it("encodes to a pinned text", () => {
    expect(encodeValue(value)).toBe(
      '{"$":"obj","v":{"$":true,"a":{"$":"big","v":"12"},"b":{"$":"bin","t":"Uint8Array","v":"AQI="},' +
        '"d":{"$":"date","v":0},"m":{"$":"map","v":[["k",{"$":"set","v":[1,2]}]]},' +
        '"z":[1,{"$":"num","v":"-0"},{"$":"num","v":"NaN"},{"$":"undef"},null,"s"]}}',
    );
  });

  it("hashes to pinned digests", () => {
    expect(hashValue({ ...value, e: new RangeError("r") })).toBe("2d21fcf9bf29516458952ae7335c2d610db0a6a7cafee6e87dccc9e979469547");
    expect(hashValue([1, "abc", { a: 2 }])).toBe("a037b416bf015b37805c525b2d61c4a5e5c996b2e59a5a0c34734ccec5d0e3d4");
    expect(hashString("a", "bc")).toBe("5310a58788781ab25d5ad7c3f85035824b4eb7bdfa394e0ac2186271472b5492");
  });

  it("round-trips strings with lone surrogates and control characters exactly", () => {
    const text = "a\ud800b\udc00c\u2028\u0000";
    expect(decodeValue(encodeValue(text))).toBe(text);
    expect(hashValue("\ud800")).not.toBe(hashValue("\ufffd"));
    expect(hashString("\ud800")).not.toBe(hashString("\ufffd"));
  });
});
