import path from "node:path";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awsPublisher } from "../../src/publish/aws/publisher.js";
import { startAwsStandin, type AwsStandin } from "../support/aws-standin/server.js";
import { snapshotMatchesFile } from "../support/aws-standin/readback.js";
import { standinCredentialFiles } from "../support/aws-standin/fixtures.js";
import { artifactFor, contextFor, planWith, sparseImage, tempDir, writeSecrets } from "./publish-fixtures.js";
import type { Artifact } from "../../src/builder/artifact.js";

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

    const check = await snapshotMatchesFile(standin.url, "us-east-1", image.snapshotId!, raw.path);
    expect(check).toMatchObject({ equal: true });
    // Only blocks with data were sent: 6 extents of 300 KiB touch at most 12 blocks.
    expect(standin.state.stats.putBlocks).toBeLessThanOrEqual(12);
    expect(standin.state.stats.putBlocks).toBe(check.blocks);
  });
});
