import { mkdtemp, readdir, rm, utimes, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  canonicalJson,
  entryName,
  longestCachedPrefix,
  stepKeys,
  type KeyBase,
} from "../../src/builder/cache/keys.js";
import { TreeStore } from "../../src/builder/cache/store.js";
import { maxSizeBytes } from "../../src/cli/commands/cache.js";

const base: KeyBase = { bibVersion: "0.1.0", standIns: "s", base: { tarball: "abc" } };
const steps = [
  { step: "packages", content: { packages: ["curl"] } },
  { step: "files", content: { files: [{ path: "/etc/motd", sha256: "1" }] } },
  { step: 'ansible "a"', content: { ansible: { inline: "2" }, extraVars: { x: 1 } } },
  { step: 'shell "b"', content: { shell: "3" } },
];
const keys = (b: KeyBase, s: typeof steps) => stepKeys(b, s).map((k) => k.key);

describe("tree cache keys", () => {
  it("are stable and do not depend on the order of object keys", () => {
    expect(keys(base, steps)).toEqual(keys({ ...base }, structuredClone(steps)));
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  });

  it("change for a step and every step after it, and for no step before it", () => {
    const before = keys(base, steps);
    const changed = structuredClone(steps);
    changed[2]!.content = { ansible: { inline: "2" }, extraVars: { x: 2 } };
    const after = keys(base, changed);
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
    for (const i of [2, 3]) expect(after[i]).not.toBe(before[i]);
  });

  it("all change with the base, bib's version or the stand-ins", () => {
    const before = keys(base, steps);
    for (const other of [
      { ...base, base: { tarball: "abd" } },
      { ...base, bibVersion: "0.2.0" },
      { ...base, standIns: "t" },
    ]) {
      const after = keys(other, steps);
      after.forEach((k, i) => expect(k).not.toBe(before[i]));
    }
  });

  it("restore from the longest prefix the store holds", () => {
    const keyed = stepKeys(base, steps);
    expect(longestCachedPrefix(keyed, () => false)).toBe(-1);
    expect(longestCachedPrefix(keyed, (k) => k === keyed[0]!.key || k === keyed[2]!.key)).toBe(2);
  });
});

describe("the tree store", () => {
  let dir: string;
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function fakeEntry(store: TreeStore, name: string, bytes: number, usedSecondsAgo: number) {
    await mkdir(store.dir, { recursive: true });
    await writeFile(store.file(name), Buffer.alloc(bytes));
    const used = new Date(Date.now() - usedSecondsAgo * 1000);
    await utimes(store.file(name), used, used);
  }

  it("lists only complete entries, most recently used first", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bib-store-"));
    const store = new TreeStore(path.join(dir, "trees"));
    await fakeEntry(store, "step-old", 10, 100);
    await fakeEntry(store, "step-new", 10, 1);
    await writeFile(path.join(store.dir, ".step-x.1-ab.partial"), "half");
    expect((await store.list()).map((e) => e.name)).toEqual(["step-new", "step-old"]);
  });

  it("prunes least recently used entries first, down to the bound", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bib-store-"));
    const store = new TreeStore(path.join(dir, "trees"));
    await fakeEntry(store, "step-a", 100, 300);
    await fakeEntry(store, "step-b", 100, 200);
    await fakeEntry(store, "step-c", 100, 100);
    const removed = await store.prune(250);
    expect(removed.map((e) => e.name)).toEqual(["step-a"]);
    expect((await store.list()).map((e) => e.name)).toEqual(["step-c", "step-b"]);
  });

  it("saves a tree under its name only once complete, and restores it", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bib-store-"));
    const store = new TreeStore(path.join(dir, "trees"));
    const tree = path.join(dir, "tree");
    await mkdir(path.join(tree, "etc"), { recursive: true });
    await writeFile(path.join(tree, "etc/x"), "x\n", { mode: 0o640 });
    await store.save(
      entryName("k1"),
      tree,
      { step: "packages", buildName: "b" },
      new AbortController().signal,
    );
    expect(await readdir(store.dir)).toEqual(["step-k1.json", "step-k1.tar"]);
    const [entry] = await store.list();
    expect(entry).toMatchObject({ name: "step-k1", step: "packages", buildName: "b" });
    const out = path.join(dir, "out");
    await mkdir(out);
    await store.restore("step-k1", out, new AbortController().signal);
    expect(await readdir(path.join(out, "etc"))).toEqual(["x"]);
  });

  it("leaves no entry when the save is aborted", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bib-store-"));
    const store = new TreeStore(path.join(dir, "trees"));
    const tree = path.join(dir, "tree");
    await mkdir(tree);
    await writeFile(path.join(tree, "big"), Buffer.alloc(64 * 2 ** 20, 1));
    const controller = new AbortController();
    const saving = store.save("step-k2", tree, { step: "x", buildName: "b" }, controller.signal);
    controller.abort("test");
    await expect(saving).rejects.toThrow();
    expect(await readdir(store.dir)).toEqual([]);
    expect(await store.entry("step-k2")).toBeUndefined();
  });
});

describe("bib cache prune --max-size", () => {
  it("takes a size and names the flag otherwise", () => {
    expect(maxSizeBytes("10Gi")).toBe(10 * 2 ** 30);
    expect(() => maxSizeBytes("ten")).toThrow(/--max-size: "ten" is not a size/);
  });
});
