import path from "node:path";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awsPublisher } from "../../src/publish/aws/publisher.js";
import { startAwsStandin, type AwsStandin } from "../support/aws-standin/server.js";
import { snapshotMatchesFile } from "../support/aws-standin/readback.js";
import { standinCredentialFiles } from "../support/aws-standin/fixtures.js";
import { artifactFor, contextFor, planWith, sparseImage, tempDir, writeSecrets } from "./publish-fixtures.js";
import type { Artifact } from "../../src/plan/artifact.js";
import { cleanupPublished } from "../../src/publish/cleanup.js";
import { run } from "../../src/util/exec.js";
import pino from "pino";

const MiB = 2 ** 20;
const FAST = { maxAttempts: 12, baseMs: 1, capMs: 20 };

let standin: AwsStandin;
let dir: string;
let raw: Artifact;
let secretsDir: string;

const awsSpec = (extra: Record<string, unknown> = {}) => ({
  aws: {
    region: "us-east-1",
    name: "capa-ami-debian-12-v1.31.2-{{.Timestamp}}",
    credentialsSecretRef: { name: "aws" },
    tags: { team: "platform" },
    ...extra,
  },
});

const publisher = () => awsPublisher({ env: standin.env, pollMs: 5, retry: FAST, concurrency: 8 });

/** Reads the snapshot back from the stand-in and compares it with the raw image, block by block. */
const readBack = (snapshotId: string, region = "us-east-1") =>
  snapshotMatchesFile(standin.url, region, snapshotId, raw.path);

beforeAll(async () => {
  dir = await tempDir("aws");
  const file = path.join(dir, "golden.raw");
  // 40 MiB + 1000 bytes: 81 blocks, the last one partial; 6 extents of 300 KiB.
  await sparseImage(file, 40 * MiB + 1000, 6, 300 * 1024);
  raw = await artifactFor(file, "raw");
  secretsDir = path.join(dir, "secrets");
  await writeSecrets(secretsDir, standinCredentialFiles());
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  standin = await startAwsStandin();
  return () => standin.close();
});

describe("aws publisher against the EBS/EC2 stand-in", () => {
  it("writes a byte-identical snapshot, registers one tagged AMI and reports it", async () => {
    const plan = planWith(awsSpec());
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));

    expect(result.images).toHaveLength(1);
    const image = result.images[0]!;
    expect(image).toMatchObject({
      provider: "aws",
      region: "us-east-1",
      name: "capa-ami-debian-12-v1.31.2-1763900000",
    });
    const stored = standin.state.images.get(image.imageId!)!;
    expect(stored).toMatchObject({
      architecture: "x86_64",
      bootMode: "uefi",
      imdsSupport: "v2.0",
      enaSupport: true,
      virtualizationType: "hvm",
      rootDeviceName: "/dev/xvda",
      volumeType: "gp3",
      snapshotId: image.snapshotId,
    });
    expect(stored.tags.get("bib.dev/build-id")).toBe(plan.buildId);
    expect(stored.tags.get("bib.dev/imagebuild")).toBe("images/golden");
    expect(stored.tags.get("team")).toBe("platform");
    expect(standin.state.snapshots.get(image.snapshotId!)!.tags.get("bib.dev/build-id")).toBe(plan.buildId);

    const check = await readBack(image.snapshotId!);
    expect(check).toMatchObject({ equal: true });
    // Only blocks with data were sent: 6 extents of 300 KiB touch at most 12 blocks.
    expect(standin.state.stats.putBlocks).toBeLessThanOrEqual(12);
    expect(standin.state.stats.putBlocks).toBe(check.blocks);
  });

  it("rides out a throttling storm on blocks and on EC2 calls", async () => {
    standin.faults.throttle("ebs", 5, { action: "PutSnapshotBlock", every: 2 });
    standin.faults.throttle("ec2", 3, { every: 2 });
    const plan = planWith(awsSpec());
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));

    expect(standin.faults.pending()).toBe(0);
    expect(standin.state.stats.throttled).toBeGreaterThanOrEqual(8);
    expect(
      standin.calls.some((c) => c.service === "ebs" && c.status === 400 && c.action === "PutSnapshotBlock"),
    ).toBe(true);
    const check = await readBack(result.images[0]!.snapshotId!);
    expect(check.equal).toBe(true);
  });

  it("retries transient 5xx in the middle of the upload and on completion", async () => {
    standin.faults.fail("ebs", 3, { action: "PutSnapshotBlock", every: 3, status: 500 });
    standin.faults.fail("ebs", 1, { action: "CompleteSnapshot", status: 503 });
    standin.faults.fail("ec2", 1, { action: "RegisterImage", status: 503 });
    const plan = planWith(awsSpec());
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));

    expect(standin.state.stats.failed).toBe(5);
    expect(standin.state.images.size).toBe(1);
    const check = await readBack(result.images[0]!.snapshotId!);
    expect(check.equal).toBe(true);
  });

  it("after being killed mid-upload, a rerun finishes with exactly one AMI and no pending snapshot", async () => {
    const plan = planWith(awsSpec());
    const controller = new AbortController();
    standin.faults.onPut(3, () => controller.abort(new Error("killed")));
    await expect(
      publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }, controller.signal)),
    ).rejects.toThrow();
    const crashed = [...standin.state.snapshots.values()];
    expect(crashed).toHaveLength(1);
    expect(crashed[0]!.state).toBe("pending");
    // What a crash leaves behind is findable: tagged with the build id from StartSnapshot on.
    expect(crashed[0]!.tags.get("bib.dev/build-id")).toBe(plan.buildId);
    expect(standin.state.images.size).toBe(0);

    standin.faults.clear();
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));
    expect(standin.state.images.size).toBe(1);
    const snapshots = [...standin.state.snapshots.values()];
    expect(snapshots.filter((s) => s.state !== "completed")).toEqual([]);
    expect(snapshots).toHaveLength(1);
    const check = await readBack(result.images[0]!.snapshotId!);
    expect(check.equal).toBe(true);

    // A third run changes nothing: same AMI, no new snapshot, no block sent.
    const putsBefore = standin.state.stats.putBlocks;
    const again = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));
    expect(again.images).toEqual(result.images);
    expect(standin.state.stats.putBlocks).toBe(putsBefore);
    expect(standin.state.images.size).toBe(1);
  });

  it("killed right after CompleteSnapshot, a rerun waits for that snapshot instead of writing it again", async () => {
    const plan = planWith(awsSpec());
    const controller = new AbortController();
    standin.faults.after("CompleteSnapshot", () => controller.abort(new Error("killed")));
    await expect(
      publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }, controller.signal)),
    ).rejects.toThrow();
    // Still reported pending while EBS finishes it, for longer than one look.
    for (const s of standin.state.snapshots.values()) s.pendingDescribes = 3;
    const puts = standin.state.stats.putBlocks;
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));
    expect(standin.state.snapshots.size).toBe(1);
    expect(standin.state.images.size).toBe(1);
    // The rerun tried one block, was told the snapshot takes no more, and waited.
    expect(standin.state.stats.putBlocks).toBe(puts);
    expect((await readBack(result.images[0]!.snapshotId!)).equal).toBe(true);
  });

  it("a pending snapshot whose StartSnapshot token no longer matches is deleted, not left behind", async () => {
    const plan = planWith(awsSpec());
    const controller = new AbortController();
    standin.faults.onPut(2, () => controller.abort(new Error("killed")));
    await expect(
      publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }, controller.signal)),
    ).rejects.toThrow();
    // As if the idempotency window had passed: the service no longer maps the token to it.
    for (const s of standin.state.snapshots.values()) delete s.clientToken;
    standin.faults.clear();
    await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));
    const snapshots = [...standin.state.snapshots.values()];
    expect(snapshots.map((s) => s.state)).toEqual(["completed"]);
    expect(standin.state.images.size).toBe(1);
  });

  it("rejects bad credentials with a message naming the target", async () => {
    const badSecrets = path.join(dir, "bad-secrets");
    await writeSecrets(badSecrets, standinCredentialFiles("AKIAINVALID000000001"));
    const plan = planWith(awsSpec());
    await expect(
      publisher().publish(contextFor(plan, [raw], { secretsDir: badSecrets, volumeRoot: dir })),
    ).rejects.toThrow(/^publish\.aws \(us-east-1\): credentials rejected: AWS was not able to validate/);
    expect(standin.state.snapshots.size).toBe(0);
  });

  it("rejects a known access key with the wrong secret key: the stand-in verifies SigV4", async () => {
    const wrongSecret = path.join(dir, "wrong-secret");
    await writeSecrets(wrongSecret, {
      ...standinCredentialFiles(),
      "aws.AWS_SECRET_ACCESS_KEY": "not-the-secret-key",
    });
    await expect(
      publisher().publish(
        contextFor(planWith(awsSpec()), [raw], { secretsDir: wrongSecret, volumeRoot: dir }),
      ),
    ).rejects.toThrow(
      /^publish\.aws \(us-east-1\): credentials rejected: The request signature we calculated/,
    );
    expect(standin.calls.map((c) => c.status)).toEqual([403]);
  });

  it("refuses an AMI name that another build already uses", async () => {
    const first = planWith(awsSpec({ name: "shared-name" }));
    await publisher().publish(contextFor(first, [raw], { secretsDir, volumeRoot: dir }));
    const other = planWith(awsSpec({ name: "shared-name" }), {}, "other");
    await expect(
      publisher().publish(contextFor(other, [raw], { secretsDir, volumeRoot: dir })),
    ).rejects.toThrow(
      /publish\.aws \(us-east-1\): an AMI named "shared-name" already exists .* not published by this build/,
    );
    expect(standin.state.images.size).toBe(1);
    expect(standin.state.snapshots.size).toBe(1);
  });

  it("copies to other regions, shares with accounts, and cleanup removes everything idempotently", async () => {
    const plan = planWith(
      awsSpec({
        copyToRegions: ["eu-west-1", "ap-south-1"],
        shareWithAccounts: ["210987654321"],
        public: false,
      }),
      { deletionPolicy: "Delete" },
    );
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));
    expect(result.images.map((i) => i.region)).toEqual(["us-east-1", "eu-west-1", "ap-south-1"]);
    for (const entry of result.images) {
      const image = standin.state.images.get(entry.imageId!)!;
      expect(image.region).toBe(entry.region);
      expect(image.name).toBe(entry.name);
      expect([...image.launchPermission]).toEqual(["210987654321"]);
      const snapshot = standin.state.snapshots.get(entry.snapshotId!)!;
      expect(snapshot.region).toBe(entry.region);
      expect([...snapshot.createVolumePermission]).toEqual(["210987654321"]);
      expect(snapshot.tags.get("bib.dev/build-id")).toBe(plan.buildId);
    }
    const copy = result.images[1]!;
    expect((await readBack(copy.snapshotId!, "eu-west-1")).equal).toBe(true);

    const cleanup = () =>
      cleanupPublished({
        plan,
        published: result,
        secretsDir,
        log: pino({ level: "silent" }),
        env: standin.env,
        retry: FAST,
      });
    const first = await cleanup();
    expect(first.failures).toEqual([]);
    expect(standin.state.images.size).toBe(0);
    expect(standin.state.snapshots.size).toBe(0);
    const second = await cleanup();
    expect(second.failures).toEqual([]);
    expect(second.done.filter((d) => d.startsWith("deregister"))).toEqual(
      result.images.map((i) => `deregister ${i.imageId} (${i.region}): already gone`),
    );
  });

  it("cleanup refuses an AMI that is not tagged with the build's id", async () => {
    const plan = planWith(awsSpec());
    const result = await publisher().publish(contextFor(plan, [raw], { secretsDir, volumeRoot: dir }));
    const other = planWith(awsSpec(), {}, "someone-else");
    const report = await cleanupPublished({
      plan: other,
      published: result,
      secretsDir,
      log: pino({ level: "silent" }),
      env: standin.env,
      retry: FAST,
    });
    expect(report.failures.join("\n")).toMatch(
      /is not tagged as published by images\/someone-else .*not deleting it/,
    );
    expect(standin.state.images.size).toBe(1);
  });

  it("makes the AMI from a qcow2 when there is no raw artifact", async () => {
    const qcow2Path = path.join(dir, "golden.qcow2");
    await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw.path, qcow2Path]);
    const qcow2 = await artifactFor(qcow2Path, "qcow2");
    const plan = planWith(awsSpec());
    const result = await publisher().publish(contextFor(plan, [qcow2], { secretsDir, volumeRoot: dir }));
    const check = await readBack(result.images[0]!.snapshotId!);
    expect(check.equal).toBe(true);
  });
});
