// The order of AWS calls the aws publisher makes, with the SDK clients mocked
// (aws-sdk-client-mock) and the lean PutSnapshotBlock sender replaced by a recorder; the stand-in
// tests cover behaviour over HTTP.
import path from "node:path";
import { rm } from "node:fs/promises";
import { CompleteSnapshotCommand, EBSClient, StartSnapshotCommand } from "@aws-sdk/client-ebs";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Artifact } from "../../src/plan/artifact.js";
import { linearChecksum } from "../../src/publish/aws/blocks.js";
import { awsPublisher } from "../../src/publish/aws/publisher.js";
import { artifactFor, contextFor, planWith, sparseImage, tempDir } from "../integration/publish-fixtures.js";

const putBlocks = vi.hoisted(() => [] as Array<{ snapshotId: string; index: number; sha256: string }>);
vi.mock("../../src/publish/aws/put-block.js", () => ({
  createPutBlock:
    () =>
    async (block: { snapshotId: string; index: number; sha256: Buffer }): Promise<void> => {
      putBlocks.push({
        snapshotId: block.snapshotId,
        index: block.index,
        sha256: block.sha256.toString("hex"),
      });
    },
}));

const ec2 = mockClient(EC2Client);
const ebs = mockClient(EBSClient);
let dir: string;
let raw: Artifact;
// No endpoint overrides: the mocked clients never reach the network.
const ENV = {};

beforeAll(async () => {
  dir = await tempDir("seq");
  await sparseImage(path.join(dir, "d.raw"), 8 * 2 ** 20, 2, 4096);
  raw = await artifactFor(path.join(dir, "d.raw"), "raw");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  ec2.reset();
  ebs.reset();
  putBlocks.length = 0;
});

const plan = () =>
  planWith({
    aws: { region: "us-west-2", name: "img-{{.BuildID}}", shareWithAccounts: ["111122223333"], public: true },
  });
const names = (client: typeof ec2 | typeof ebs) =>
  client.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);

describe("aws publisher call sequence", () => {
  it("uploads, completes, waits, registers, tags and shares, in that order", async () => {
    const p = plan();
    const owner = [
      { Key: "bib.dev/build-id", Value: p.buildId },
      { Key: "bib.dev/imagebuild", Value: "images/golden" },
    ];
    ec2.on(DescribeImagesCommand, { Owners: ["self"] }).resolves({ Images: [] });
    ec2
      .on(DescribeImagesCommand, { ImageIds: ["ami-0123456789abcdef0"] })
      .resolves({ Images: [{ ImageId: "ami-0123456789abcdef0", State: "available", Tags: owner }] });
    ec2.on(DescribeSnapshotsCommand, { OwnerIds: ["self"] }).resolves({ Snapshots: [] });
    ec2
      .on(DescribeSnapshotsCommand, { SnapshotIds: ["snap-0123456789abcdef0"] })
      .resolves({ Snapshots: [{ State: "completed" }] });
    ec2.on(RegisterImageCommand).resolves({ ImageId: "ami-0123456789abcdef0" });
    ebs
      .on(StartSnapshotCommand)
      .resolves({ SnapshotId: "snap-0123456789abcdef0", Status: "pending", BlockSize: 524288 });
    ebs.on(CompleteSnapshotCommand).resolves({ Status: "pending" });

    const result = await awsPublisher({ env: ENV, pollMs: 1 }).publish(
      contextFor(p, [raw], { secretsDir: dir, volumeRoot: dir }),
    );
    expect(result.images).toEqual([
      {
        provider: "aws",
        region: "us-west-2",
        imageId: "ami-0123456789abcdef0",
        snapshotId: "snap-0123456789abcdef0",
        name: `img-${p.buildId}`,
      },
    ]);
    expect(names(ec2)).toEqual([
      "DescribeImagesCommand",
      "DescribeSnapshotsCommand",
      "DescribeSnapshotsCommand",
      "RegisterImageCommand",
      "DescribeImagesCommand",
      "CreateTagsCommand",
      "ModifyImageAttributeCommand",
      "ModifySnapshotAttributeCommand",
    ]);
    const ebsCalls = names(ebs);
    expect(ebsCalls).toEqual(["StartSnapshotCommand", "CompleteSnapshotCommand"]);
    // Two 4 KiB extents far apart: two blocks, into the snapshot StartSnapshot returned.
    expect(putBlocks.map((b) => b.snapshotId)).toEqual(["snap-0123456789abcdef0", "snap-0123456789abcdef0"]);
    expect(new Set(putBlocks.map((b) => b.index)).size).toBe(2);

    const start = ebs.commandCalls(StartSnapshotCommand)[0]!.args[0].input;
    expect(start).toMatchObject({ VolumeSize: 1, Timeout: 120 });
    expect(start.ClientToken).toMatch(/^bib-[0-9a-f]{48}$/);
    expect(start.Tags).toEqual(expect.arrayContaining([{ Key: "bib.dev/build-id", Value: p.buildId }]));
    const complete = ebs.commandCalls(CompleteSnapshotCommand)[0]!.args[0].input;
    expect(complete).toMatchObject({
      ChangedBlocksCount: 2,
      ChecksumAlgorithm: "SHA256",
      ChecksumAggregationMethod: "LINEAR",
    });
    const inIndexOrder = [...putBlocks].sort((a, b) => a.index - b.index);
    expect(complete.Checksum).toBe(linearChecksum(inIndexOrder.map((b) => Buffer.from(b.sha256, "hex"))));
    const register = ec2.commandCalls(RegisterImageCommand)[0]!.args[0].input;
    expect(register).toMatchObject({
      VirtualizationType: "hvm",
      EnaSupport: true,
      ImdsSupport: "v2.0",
      BootMode: "uefi",
      Architecture: "x86_64",
      RootDeviceName: "/dev/xvda",
      BlockDeviceMappings: [
        {
          DeviceName: "/dev/xvda",
          Ebs: { SnapshotId: "snap-0123456789abcdef0", VolumeType: "gp3", DeleteOnTermination: true },
        },
      ],
    });
    expect(ec2.commandCalls(ModifyImageAttributeCommand)[0]!.args[0].input.LaunchPermission).toEqual({
      Add: [{ UserId: "111122223333" }, { Group: "all" }],
    });
    expect(ec2.commandCalls(ModifySnapshotAttributeCommand)[0]!.args[0].input.CreateVolumePermission).toEqual(
      {
        Add: [{ UserId: "111122223333" }, { Group: "all" }],
      },
    );
    expect(ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input.Resources).toEqual([
      "ami-0123456789abcdef0",
      "snap-0123456789abcdef0",
    ]);
  });

  it("reuses its own AMI of that name without uploading anything", async () => {
    const p = plan();
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: "ami-0aaaaaaaaaaaaaaaa",
          Name: `img-${p.buildId}`,
          State: "available",
          BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-0bbbbbbbbbbbbbbbb" } }],
          Tags: [
            { Key: "bib.dev/build-id", Value: p.buildId },
            { Key: "bib.dev/imagebuild", Value: "images/golden" },
          ],
        },
      ],
    });
    const result = await awsPublisher({ env: ENV, pollMs: 1 }).publish(
      contextFor(p, [raw], { secretsDir: dir, volumeRoot: dir }),
    );
    expect(result.images[0]).toMatchObject({
      imageId: "ami-0aaaaaaaaaaaaaaaa",
      snapshotId: "snap-0bbbbbbbbbbbbbbbb",
    });
    expect(ebs.calls()).toHaveLength(0);
    expect(ec2.commandCalls(RegisterImageCommand)).toHaveLength(0);
  });
});
