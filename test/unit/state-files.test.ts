// The files one part of the build leaves for another, each with one typed reader and writer:
// plan.json (plan directory, ConfigMap) and state/artifacts.json (workspace).
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  artifactsStateFile,
  readArtifactsState,
  writeArtifactsState,
} from "../../src/builder/artifacts-state.js";
import { readPlanDir, writePlanDir } from "../../src/builder/plan-dir.js";
import { loadManifests } from "../../src/cli/manifests.js";
import { parsePlanDocument, planDocument } from "../../src/plan/plan-document.js";
import { resolvePlan } from "../../src/plan/plan.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "bib-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const examples = readdirSync("examples")
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => `examples/${f}`);

describe("plan.json", () => {
  it.each(examples)("reads back the plan of %s as written, without its assets", async (file) => {
    const ib = (await loadManifests([file])).imageBuilds[0]!;
    const result = resolvePlan({
      metadata: { name: ib.metadata.name!, namespace: ib.namespace },
      spec: ib.spec,
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    await writePlanDir(dir, result.plan);
    expect(await readPlanDir(dir)).toEqual({ ...result.plan, assets: {} });
    for (const [key, content] of Object.entries(result.plan.assets))
      expect(await readFile(path.join(dir, key), "utf8")).toBe(content);
  });

  it("refuses a document that is not a BuildPlan, naming the file and the field", () => {
    const result = resolvePlan({ metadata: { name: "x" }, spec: { base: { image: "registry.test/a:1" } } });
    if (!result.ok) throw new Error("invalid");
    const doc = JSON.parse(planDocument(result.plan)) as Record<string, unknown>;
    expect(() => parsePlanDocument(JSON.stringify({ ...doc, formats: ["iso"] }), "plan.json")).toThrow(
      /^plan\.json is not a BuildPlan: formats\.0: /,
    );
    expect(() => parsePlanDocument(JSON.stringify({ ...doc, kind: "ImageBuild" }), "plan.json")).toThrow(
      /^plan\.json is not a BuildPlan: kind: /,
    );
    expect(() => parsePlanDocument("{", "plan.json")).toThrow(/^plan\.json is not a BuildPlan: not JSON: /);
  });

  it("keeps validate.boot.checks, parsed as the spec parses them", async () => {
    const checks = [{ name: "sshd enabled", run: "systemctl is-enabled ssh" }];
    const result = resolvePlan({
      metadata: { name: "x" },
      spec: { base: { debootstrap: { suite: "bookworm" } }, validate: { boot: { checks } } },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    await writePlanDir(dir, result.plan);
    expect((await readPlanDir(dir)).validate.boot.checks).toEqual(checks);
    const doc = JSON.parse(planDocument(result.plan)) as { validate: { boot: Record<string, unknown> } };
    const twice = { ...doc, validate: { boot: { ...doc.validate.boot, checks: [...checks, ...checks] } } };
    expect(() => parsePlanDocument(JSON.stringify(twice), "plan.json")).toThrow(
      'plan.json is not a BuildPlan: validate.boot.checks: check names must be unique: "sshd enabled"',
    );
  });

  it("names the file when the plan directory has none", async () => {
    await expect(readPlanDir(path.join(dir, "missing"))).rejects.toThrow(
      /cannot read the build plan .*plan\.json/,
    );
  });
});

describe("state/artifacts.json", () => {
  const artifact = { format: "qcow2" as const, path: "/w/a/x.qcow2", size: 42, sha256: "a".repeat(64) };

  it("reads back what package wrote", async () => {
    await mkdir(path.join(dir, "state"));
    await writeArtifactsState(dir, [artifact]);
    expect(await readArtifactsState(dir)).toEqual([artifact]);
  });

  it("fails naming the file when package has not run, or when it holds something else", async () => {
    const file = artifactsStateFile(dir);
    await expect(readArtifactsState(dir)).rejects.toThrow(`no packaged artifacts (${file})`);
    await mkdir(path.join(dir, "state"));
    await writeFile(file, "[");
    await expect(readArtifactsState(dir)).rejects.toThrow(`${file}: not JSON`);
    await writeFile(file, JSON.stringify([{ ...artifact, size: -1 }]));
    await expect(readArtifactsState(dir)).rejects.toThrow(`${file}: 0.size: `);
  });
});
