import { describe, expect, it } from "vitest";
import { DEFAULT_MEMO_LIMITS, memoizedResolver, resolveBuild } from "../../src/hooks/resolve.js";
import { imageBuild, minimalSpec } from "../support/fixtures.js";

describe("resolving a parent into its plan", () => {
  it("reuses the entry for the same parent and spec, and resolves a changed spec anew", () => {
    const resolve = memoizedResolver({ ...DEFAULT_MEMO_LIMITS, entries: 8 });
    const a = resolve(imageBuild(minimalSpec));
    expect(resolve(imageBuild(minimalSpec))).toBe(a);
    const changed = resolve(imageBuild({ ...minimalSpec, formats: ["raw"] }));
    expect(changed).not.toBe(a);
    expect(changed.result.buildId).not.toBe(a.result.buildId);
    expect(resolve(imageBuild(minimalSpec, { annotations: { "bib.dev/rebuild": "1" } }))).not.toBe(a);
  });

  it("answers exactly as resolving without the memo does", () => {
    const resolve = memoizedResolver();
    for (const spec of [minimalSpec, { base: {} }, { ...minimalSpec, disk: { size: "1Ki" } }]) {
      expect(resolve(imageBuild(spec))).toEqual(resolveBuild(imageBuild(spec)));
    }
  });

  it("keeps at most the given number of entries, dropping the least recently used", () => {
    const resolve = memoizedResolver({ ...DEFAULT_MEMO_LIMITS, entries: 2 });
    const first = resolve(imageBuild(minimalSpec, { name: "a" }));
    const firstB = resolve(imageBuild(minimalSpec, { name: "b" }));
    resolve(imageBuild(minimalSpec, { name: "a" }));
    resolve(imageBuild(minimalSpec, { name: "c" }));
    expect(resolve(imageBuild(minimalSpec, { name: "a" }))).toBe(first);
    const b = resolve(imageBuild(minimalSpec, { name: "b" }));
    // "c" pushed out "b", the least recently used: it was resolved anew.
    expect(b).not.toBe(firstB);
    expect(resolve(imageBuild(minimalSpec, { name: "b" }))).toBe(b);
  });

  it("does not keep specs above the size limit", () => {
    const resolve = memoizedResolver({ ...DEFAULT_MEMO_LIMITS, entries: 8, maxKeyBytes: 100 });
    const big = { ...minimalSpec, packages: Array.from({ length: 20 }, (_, i) => `package-${i}`) };
    expect(resolve(imageBuild(big))).not.toBe(resolve(imageBuild(big)));
  });

  it("is bounded by bytes: large specs push out the least recently used ones", () => {
    const content = "x".repeat(20 * 1024);
    const withFile = (name: string) =>
      imageBuild({ ...minimalSpec, files: [{ path: "/etc/big", content }] }, { name });
    // Each entry holds the content at least twice (the key's spec and the plan's asset): ~40 KiB.
    const resolve = memoizedResolver({ entries: 100, maxKeyBytes: 1 << 16, maxBytes: 100 * 1024 });
    const a = resolve(withFile("a"));
    const b = resolve(withFile("b"));
    expect(resolve(withFile("a"))).toBe(a);
    resolve(withFile("c"));
    // "c" did not fit beside both: "b", used least recently, went.
    expect(resolve(withFile("a"))).toBe(a);
    expect(resolve(withFile("b"))).not.toBe(b);
  });

  it("does not keep an entry larger than all the memo may hold", () => {
    const content = "x".repeat(20 * 1024);
    const spec = { ...minimalSpec, files: [{ path: "/etc/big", content }] };
    const resolve = memoizedResolver({ entries: 100, maxKeyBytes: 1 << 16, maxBytes: 30 * 1024 });
    expect(resolve(imageBuild(spec))).not.toBe(resolve(imageBuild(spec)));
  });

  it("hands out entries nobody can change", () => {
    const resolved = memoizedResolver()(imageBuild(minimalSpec));
    expect(() => {
      if (resolved.result.ok) (resolved.result.plan.formats as string[]).push("raw");
    }).toThrow(TypeError);
  });

  it("reports inline contents that do not fit in a ConfigMap", () => {
    const content = "x".repeat(400 * 1024);
    const spec = { ...minimalSpec, files: ["/a", "/b", "/c"].map((path) => ({ path, content })) };
    const resolved = resolveBuild(imageBuild(spec));
    expect(resolved.result.ok).toBe(true);
    expect(resolved.tooBig?.message).toMatch(/^inline files, playbooks and scripts total 120\d KiB/);
  });
});
