import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteLru } from "../../src/plan/byte-lru.js";

/** A map whose evictions are recorded in `evicted`, oldest first. */
function recorded(maxEntries: number, maxBytes: number) {
  const evicted: string[] = [];
  const lru = new ByteLru<string, string>({ maxEntries, maxBytes, onEvict: (k) => evicted.push(k) });
  return { lru, evicted };
}

const keys = (lru: ByteLru<string, string>, candidates: string[]) =>
  candidates.filter((k) => lru.get(k) !== undefined);

describe("a byte-bounded LRU map", () => {
  it("pushes out the least recently used value beyond the count, a read counting as a use", () => {
    const { lru, evicted } = recorded(2, 100);
    lru.set("a", "A", 1);
    lru.set("b", "B", 1);
    expect(lru.get("a")).toBe("A");
    expect(lru.set("c", "C", 1)).toBe(true);
    expect(evicted).toEqual(["b"]);
    expect(lru.size).toBe(2);
    expect(lru.get("b")).toBeUndefined();
    expect(lru.get("a")).toBe("A");
    expect(lru.get("c")).toBe("C");
  });

  it("pushes out as many least recently used values as the bytes need", () => {
    const { lru, evicted } = recorded(10, 10);
    for (const k of ["a", "b", "c", "d"]) lru.set(k, k, 2);
    lru.get("a");
    lru.set("e", "e", 5);
    // 2 * 4 + 5 = 13 > 10: b and c, the least recently used, go; a, read last, stays.
    expect(evicted).toEqual(["b", "c"]);
    expect(lru.bytes).toBe(9);
    expect(keys(lru, ["a", "b", "c", "d", "e"])).toEqual(["a", "d", "e"]);
  });

  it("does not keep a value larger than the byte bound, and pushes nothing out for it", () => {
    const { lru, evicted } = recorded(10, 10);
    lru.set("a", "A", 5);
    lru.set("b", "B", 5);
    expect(lru.set("big", "BIG", 11)).toBe(false);
    expect(lru.get("big")).toBeUndefined();
    expect(evicted).toEqual([]);
    expect({ size: lru.size, bytes: lru.bytes }).toEqual({ size: 2, bytes: 10 });
    expect(lru.set("exact", "EXACT", 10)).toBe(true);
    expect(evicted).toEqual(["a", "b"]);
  });

  it("replaces a key's value and bytes, and forgets it when the new value is too large", () => {
    const { lru } = recorded(10, 10);
    lru.set("a", "old", 4);
    lru.set("a", "new", 6);
    expect({ value: lru.get("a"), size: lru.size, bytes: lru.bytes }).toEqual({
      value: "new",
      size: 1,
      bytes: 6,
    });
    expect(lru.set("a", "huge", 11)).toBe(false);
    expect({ value: lru.get("a"), size: lru.size, bytes: lru.bytes }).toEqual({
      value: undefined,
      size: 0,
      bytes: 0,
    });
  });

  it("gives back a deleted value's bytes without calling it an eviction", () => {
    const { lru, evicted } = recorded(10, 10);
    lru.set("a", "A", 3);
    lru.set("b", "B", 4);
    lru.delete("a");
    lru.delete("missing");
    expect({ size: lru.size, bytes: lru.bytes }).toEqual({ size: 1, bytes: 4 });
    expect(evicted).toEqual([]);
  });

  it("agrees with a list kept in use order, whatever the operations", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key: fc.nat(5), bytes: fc.nat(12) }),
      fc.record({ kind: fc.constant("get" as const), key: fc.nat(5) }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.nat(4), fc.nat(10), fc.array(op, { maxLength: 40 }), (maxEntries, maxBytes, ops) => {
        const lru = new ByteLru<number, string>({ maxEntries, maxBytes });
        // Least recently used first.
        let model: { key: number; value: string; bytes: number }[] = [];
        const total = () => model.reduce((n, e) => n + e.bytes, 0);
        ops.forEach((o, i) => {
          const found = model.find((e) => e.key === o.key);
          if (o.kind === "get") {
            expect(lru.get(o.key)).toBe(found?.value);
            if (found) model = [...model.filter((e) => e !== found), found];
            return;
          }
          model = model.filter((e) => e !== found);
          if (o.kind === "delete") return lru.delete(o.key);
          const value = `v${i}`;
          lru.set(o.key, value, o.bytes);
          if (o.bytes <= maxBytes) model.push({ key: o.key, value, bytes: o.bytes });
          while (model.length > maxEntries || total() > maxBytes) model.shift();
        });
        expect({ size: lru.size, bytes: lru.bytes }).toEqual({ size: model.length, bytes: total() });
        for (const e of model) expect(lru.get(e.key)).toBe(e.value);
      }),
    );
  });
});
