import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestedDeeperThan } from "../../src/api/nesting.js";
import { canonicalJson, sortKeys } from "../../src/plan/canonical-json.js";

const deep = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

const wrap = (value: unknown, levels: number): unknown => {
  let v = value;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

describe("nestedDeeperThan", () => {
  it.each([
    [1, 1, undefined],
    [{}, 1, undefined],
    [{ a: {} }, 1, ["a"]],
    [{ a: [1, { b: {} }] }, 2, ["a", 1]],
    [{ a: [1, { b: {} }] }, 3, ["a", 1, "b"]],
    [{ a: [1, { b: {} }] }, 4, undefined],
  ])("%j with limit %i: %j", (value, limit, path) => {
    expect(nestedDeeperThan(value, limit)).toEqual(path);
  });

  it("walks a million levels without recursion", () => {
    expect(nestedDeeperThan(deep(1_000_000), 100)).toHaveLength(100);
  });
});

describe("canonicalJson", () => {
  it("is JSON.stringify(sortKeys(value)) for any JSON value", () => {
    fc.assert(
      // sortKeys loses a __proto__ key (it sets the prototype instead); the other test covers that.
      fc.property(
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        fc.dictionary(
          fc.constantFrom("0", "1", "9", "10", "01", "-1", "4294967294", "4294967295", "a"),
          fc.integer(),
        ),
        (value, numericKeys) => {
          for (const v of [value, numericKeys, { x: [value, numericKeys] }]) {
            const expected = JSON.stringify(sortKeys(v));
            expect(canonicalJson(v)).toBe(expected);
            // Inside 300 arrays, past the fast path's bound: written without recursion, the same way.
            expect(canonicalJson(wrap(v, 300))).toBe(`${"[".repeat(300)}${expected}${"]".repeat(300)}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("keeps a __proto__ key as JSON.parse made it, and leaves out undefined as JSON does", () => {
    const withProto = JSON.parse('{"b":1,"__proto__":{"x":2}}');
    expect(canonicalJson(withProto)).toBe('{"__proto__":{"x":2},"b":1}');
    expect(canonicalJson(wrap(withProto, 300))).toContain('{"__proto__":{"x":2},"b":1}');
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
  });

  it("serialises 200000 levels without recursion", () => {
    // 100000 times {"a":...} and 100000 times [...] around a 1.
    expect(canonicalJson(deep(200_000))).toHaveLength(6 * 100_000 + 2 * 100_000 + 1);
  });
});
