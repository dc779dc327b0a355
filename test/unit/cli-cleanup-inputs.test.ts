// The cleanup Job reads cleanup.json as finalize writes it: entries as in status, including ones
// with fields this version does not know, as long as they say what to delete.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { readPodCleanupInputs } from "../../src/cli/commands/cleanup.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("reads an artifact of a format this version does not know by its location", async () => {
  dir = await mkdtemp(path.join(tmpdir(), "bib-cleanup-"));
  const iso = { format: "iso", size: 9, sha256: "b".repeat(64), location: "s3://images/x.iso" };
  const ami = { provider: "aws", region: "us-east-1", imageId: "ami-1", snapshotId: "snap-1" };
  await writeFile(path.join(dir, "plan.json"), "{}");
  await writeFile(path.join(dir, "cleanup.json"), JSON.stringify({ artifacts: [iso], images: [ami] }));
  const { published } = await readPodCleanupInputs(dir);
  expect(published).toEqual({ artifacts: [iso], images: [ami] });
});
