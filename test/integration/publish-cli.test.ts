// `bib publish` and `bib cleanup` as a user runs them: a child process with an ImageBuild file
// (and its Secret), an output directory from `bib build`, and AWS reached through the standard
// endpoint variables.
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { computeBuildId } from "../../src/plan/names.js";
import {
  startAwsStandin,
  STANDIN_ACCESS_KEY,
  STANDIN_SECRET_KEY,
  type AwsStandin,
} from "../support/aws-standin/server.js";
import { snapshotMatchesFile } from "../support/aws-standin/readback.js";
import { imageBuild } from "../support/fixtures.js";
import { awsPublisher } from "../../src/publish/aws/publisher.js";
import { standinCredentialFiles } from "../support/aws-standin/fixtures.js";
import {
  artifactFor,
  contextFor,
  planWith,
  sha256File,
  sparseImage,
  tempDir,
  writeSecrets,
} from "./publish-fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
let dir: string;
let standin: AwsStandin;

const spec = {
  base: { image: "debian:bookworm" },
  formats: ["raw"],
  validate: { boot: { enabled: false } },
  deletionPolicy: "Delete",
  publish: {
    aws: {
      region: "us-east-1",
      name: "golden-{{.Date}}-{{.BuildID}}",
      credentialsSecretRef: { name: "aws-creds" },
    },
  },
};

function bib(
  args: string[],
  onSpawn?: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...standin.env, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    if (child.pid) onSpawn?.(child.pid);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Forgets every snapshot and AMI of images/golden, whatever state an interrupted run left them in.
 * A run signalled in the middle of its upload handles the signal when its event loop gets to it: by
 * then its last blocks may be stored and CompleteSnapshot (even RegisterImage) sent, so what it
 * leaves is a pending snapshot, a completed one, or an AMI; a later run reuses the last two.
 */
function forgetGolden(): void {
  const snapshots = new Set<string>();
  for (const [id, s] of standin.state.snapshots) {
    if (s.tags.get("bib.dev/imagebuild") !== "images/golden") continue;
    snapshots.add(id);
    standin.state.snapshots.delete(id);
  }
  for (const [id, image] of standin.state.images) {
    if (image.tags.get("bib.dev/imagebuild") === "images/golden" || snapshots.has(image.snapshotId))
      standin.state.images.delete(id);
  }
}

beforeAll(async () => {
  standin = await startAwsStandin();
  dir = await tempDir("cli");
  const out = path.join(dir, "out");
  await mkdir(out);
  const buildId = computeBuildId(spec, undefined);
  await sparseImage(path.join(out, "golden.raw"), 20 * 2 ** 20, 3, 200_000);
  const raw = path.join(out, "golden.raw");
  await writeFile(
    path.join(out, "build.json"),
    JSON.stringify({
      buildId,
      buildName: "golden-x",
      timestamp: 1_763_900_000,
      artifacts: [{ format: "raw", file: "golden.raw", size: 20 * 2 ** 20, sha256: await sha256File(raw) }],
      result: { artifacts: [], images: [] },
    }),
  );
  const docs = [
    imageBuild(spec, { name: "golden" }),
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "aws-creds", namespace: "images" },
      stringData: { AWS_ACCESS_KEY_ID: STANDIN_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: STANDIN_SECRET_KEY },
    },
  ];
  await writeFile(path.join(dir, "ib.yaml"), docs.map((d) => stringify(d)).join("---\n"));
}, 60_000);

afterAll(async () => {
  await standin.close();
  await rm(dir, { recursive: true, force: true });
});

describe("bib publish / bib cleanup", () => {
  it(
    "publishes from DIR, prints the table, records the result, and cleanup deletes it twice over",
    { timeout: 90_000 },
    async () => {
      const out = path.join(dir, "out");
      const published = await bib(["publish", "-f", path.join(dir, "ib.yaml"), "--from", out]);
      expect(published.stderr).not.toContain(STANDIN_SECRET_KEY);
      expect(published.code).toBe(0);
      const image = [...standin.state.images.values()][0]!;
      expect(image.name).toMatch(/^golden-20251123-[0-9a-f]{16}$/);
      expect(published.stdout).toContain(
        `aws       us-east-1  ${image.id}  ${image.snapshotId}  ${image.name}`,
      );
      expect(published.stdout).toContain(`file://${out}/golden.raw`);
      const recorded = JSON.parse(await readFile(path.join(out, "build.json"), "utf8")) as {
        result: { images: Array<{ imageId: string }> };
      };
      expect(recorded.result.images.map((i) => i.imageId)).toEqual([image.id]);
      expect(
        (await snapshotMatchesFile(standin.url, "us-east-1", image.snapshotId, path.join(out, "golden.raw")))
          .equal,
      ).toBe(true);

      const cleaned = await bib(["cleanup", "-f", path.join(dir, "ib.yaml"), "--from", out]);
      expect(cleaned.code).toBe(0);
      expect(cleaned.stdout).toContain(`deleted  deregister ${image.id} (us-east-1): deregistered`);
      expect(standin.state.images.size).toBe(0);
      expect(standin.state.snapshots.size).toBe(0);
      const again = await bib(["cleanup", "-f", path.join(dir, "ib.yaml"), "--from", out]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("already gone");
    },
  );

  it("exits non-zero naming the Secret when the -f files lack it", { timeout: 60_000 }, async () => {
    const lonely = path.join(dir, "lonely.yaml");
    await writeFile(lonely, stringify(imageBuild(spec, { name: "golden" })));
    const result = await bib(["publish", "-f", lonely, "--from", path.join(dir, "out")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "bib publish: Secret images/aws-creds: key AWS_ACCESS_KEY_ID not found in the -f files",
    );
  });

  it(
    "in the cleanup Job: reads plan.json and cleanup.json, credentials from the secrets dir",
    { timeout: 60_000 },
    async () => {
      const plan = planWith(
        {
          aws: {
            region: "us-east-1",
            name: "job-{{.BuildID}}",
            copyToRegions: ["eu-west-1"],
            credentialsSecretRef: { name: "aws" },
          },
        },
        { deletionPolicy: "Delete" },
        "jobbed",
      );
      const secretsDir = path.join(dir, "job-secrets");
      await writeSecrets(secretsDir, standinCredentialFiles());
      const raw = await artifactFor(path.join(dir, "out", "golden.raw"), "raw");
      const published = await awsPublisher({ env: standin.env, pollMs: 5 }).publish(
        contextFor(plan, [raw], { secretsDir, volumeRoot: dir }),
      );
      expect(published.images).toHaveLength(2);
      const planDir = path.join(dir, "plan");
      await mkdir(planDir);
      const { assets: _assets, ...withoutAssets } = plan;
      await writeFile(path.join(planDir, "plan.json"), JSON.stringify(withoutAssets));
      await writeFile(path.join(planDir, "cleanup.json"), JSON.stringify(published));

      const result = await bib(["cleanup", "--plan-dir", planDir, "--secrets-dir", secretsDir]);
      expect(result.code).toBe(0);
      for (const image of published.images) expect(standin.state.images.has(image.imageId!)).toBe(false);
      expect(
        [...standin.state.snapshots.values()].filter(
          (s) => s.tags.get("bib.dev/imagebuild") === "images/jobbed",
        ),
      ).toEqual([]);

      // Credentials that no longer work: exit 1 and say what could not be deleted.
      await writeFile(path.join(planDir, "cleanup.json"), JSON.stringify(published));
      await writeSecrets(secretsDir, standinCredentialFiles("AKIAREVOKED000000001"));
      const failed = await bib(["cleanup", "--plan-dir", planDir, "--secrets-dir", secretsDir]);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(
        /FAILED +deregister ami-[0-9a-f]+ \(us-east-1\): publish\.aws \(us-east-1\): credentials rejected/,
      );
      expect(failed.stderr).toMatch(/bib cleanup: \d+ object\(s\) could not be deleted/);
    },
  );

  it(
    "SIGTERMed in the middle of the upload, stops and removes its secrets directory itself",
    { timeout: 90_000 },
    async () => {
      const out = path.join(dir, "out");
      forgetGolden();
      let pid = 0;
      standin.faults.onPut(standin.state.stats.putBlocks + 4, () => process.kill(pid, "SIGTERM"));
      const stopped = await bib(
        ["publish", "-f", path.join(dir, "ib.yaml"), "--from", out],
        (p) => (pid = p),
      );
      standin.faults.clear();
      expect(stopped.code).not.toBe(0);
      expect((await readdir(os.tmpdir())).filter((n) => n.startsWith(`bib-secrets-${pid}-`))).toEqual([]);
    },
  );
  it(
    "SIGTERMed just after CompleteSnapshot, a rerun reuses the completed snapshot and uploads nothing",
    { timeout: 90_000 },
    async () => {
      const out = path.join(dir, "out");
      forgetGolden();
      let pid = 0;
      // What a SIGTERM in the middle of the upload leaves when the run gets to it only this late.
      standin.faults.after("CompleteSnapshot", () => process.kill(pid, "SIGTERM"));
      const stopped = await bib(
        ["publish", "-f", path.join(dir, "ib.yaml"), "--from", out],
        (p) => (pid = p),
      );
      standin.faults.clear();
      expect(stopped.code).not.toBe(0);
      const ours = () =>
        [...standin.state.snapshots.values()].filter(
          (s) => s.tags.get("bib.dev/imagebuild") === "images/golden",
        );
      expect(ours().map((s) => s.state)).toEqual(["completed"]);

      const puts = standin.state.stats.putBlocks;
      const rerun = await bib(["publish", "-f", path.join(dir, "ib.yaml"), "--from", out]);
      expect(rerun.code).toBe(0);
      expect(standin.state.stats.putBlocks).toBe(puts);
      const image = [...standin.state.images.values()].find(
        (i) => i.tags.get("bib.dev/imagebuild") === "images/golden",
      );
      expect(image?.snapshotId).toBe(ours()[0]!.id);
    },
  );
  it(
    "SIGKILLed in the middle of the upload, a rerun ends with exactly one AMI and no pending snapshot",
    { timeout: 90_000 },
    async () => {
      const out = path.join(dir, "out");
      // From none: a snapshot or AMI the SIGTERMed run left would be reused, and nothing uploaded.
      forgetGolden();
      const before = standin.state.images.size;
      let pid = 0;
      standin.faults.onPut(standin.state.stats.putBlocks + 4, () => process.kill(pid, "SIGKILL"));
      const killed = await bib(["publish", "-f", path.join(dir, "ib.yaml"), "--from", out], (p) => (pid = p));
      expect(killed.signal).toBe("SIGKILL");
      const ours = () =>
        [...standin.state.snapshots.values()].filter(
          (s) => s.tags.get("bib.dev/imagebuild") === "images/golden",
        );
      expect(ours().map((s) => s.state)).toEqual(["pending"]);
      expect(standin.state.images.size).toBe(before);

      standin.faults.clear();
      const rerun = await bib(["publish", "-f", path.join(dir, "ib.yaml"), "--from", out]);
      expect(rerun.code).toBe(0);
      expect(standin.state.images.size).toBe(before + 1);
      expect(ours().map((s) => s.state)).toEqual(["completed"]);
      // The killed run could not remove its private secrets directory; the rerun did.
      expect((await readdir(os.tmpdir())).filter((n) => n.startsWith(`bib-secrets-${pid}-`))).toEqual([]);
    },
  );
});
