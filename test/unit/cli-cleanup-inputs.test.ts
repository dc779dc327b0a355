// The cleanup Job reads cleanup.json as finalize writes it: entries as in status, including ones
// with fields this version does not know, as long as they say what to delete.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { writePlanDir } from "../../src/builder/plan-dir.js";
import { readPodCleanupInputs } from "../../src/cli/commands/cleanup.js";
import { resolvePlan } from "../../src/plan/plan.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("reads an artifact of a format this version does not know by its location", async () => {
  dir = await mkdtemp(path.join(tmpdir(), "bib-cleanup-"));
  const iso = { format: "iso", size: 9, sha256: "b".repeat(64), location: "s3://images/x.iso" };
  const ami = { provider: "aws", region: "us-east-1", imageId: "ami-1", snapshotId: "snap-1" };
  const resolved = resolvePlan({
    metadata: { name: "web", namespace: "images" },
    spec: { base: { debootstrap: { suite: "bookworm" } }, publish: { s3: { bucket: "images" } } },
  });
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  await writePlanDir(dir, resolved.plan);
  await writeFile(path.join(dir, "cleanup.json"), JSON.stringify({ artifacts: [iso], images: [ami] }));
  const { plan, published } = await readPodCleanupInputs(dir);
  expect(plan).toEqual({ ...resolved.plan, assets: {} });
  expect(published).toEqual({ artifacts: [iso], images: [ami] });
});
