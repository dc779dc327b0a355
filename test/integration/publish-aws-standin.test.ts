// The stand-in rejects what EBS and EC2 reject, as the real SDK sees it: otherwise the publisher
// tests would pass against a service more lenient than AWS.
import { createHash } from "node:crypto";
import {
  CompleteSnapshotCommand,
  EBSClient,
  PutSnapshotBlockCommand,
  StartSnapshotCommand,
} from "@aws-sdk/client-ebs";
import {
  CopyImageCommand,
  CreateTagsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RegisterImageCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  startAwsStandin,
  STANDIN_ACCESS_KEY,
  STANDIN_SECRET_KEY,
  type AwsStandin,
} from "../support/aws-standin/server.js";

const BLOCK = 524_288;
let standin: AwsStandin;
let ebs: EBSClient;
let ec2: EC2Client;

const creds = { accessKeyId: STANDIN_ACCESS_KEY, secretAccessKey: STANDIN_SECRET_KEY };
beforeEach(async () => {
  standin = await startAwsStandin();
  ebs = new EBSClient({ region: "us-east-1", endpoint: standin.url, credentials: creds, maxAttempts: 1 });
  ec2 = new EC2Client({ region: "us-east-1", endpoint: standin.url, credentials: creds, maxAttempts: 1 });
});
afterEach(async () => {
  ebs.destroy();
  ec2.destroy();
  await standin.close();
});

const b64 = (b: Buffer) => createHash("sha256").update(b).digest("base64");
const start = async () =>
  (await ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Timeout: 60 }))).SnapshotId!;
const put = (SnapshotId: string, BlockIndex: number, data: Buffer, extra: Record<string, unknown> = {}) =>
  ebs.send(
    new PutSnapshotBlockCommand({
      SnapshotId,
      BlockIndex,
      BlockData: data,
      DataLength: data.length,
      Checksum: b64(data),
      ChecksumAlgorithm: "SHA256",
      ...extra,
    }),
  );

describe("EBS direct API stand-in", () => {
  it("rejects blocks of the wrong size, out of the volume, or with a wrong checksum", async () => {
    const id = await start();
    const block = Buffer.alloc(BLOCK, 1);
    await expect(put(id, 0, Buffer.alloc(4096, 1))).rejects.toMatchObject({
      name: "ValidationException",
      Reason: "INVALID_BLOCK",
    });
    await expect(put(id, 2048, block)).rejects.toMatchObject({
      name: "ValidationException",
      Reason: "INVALID_BLOCK",
    });
    await expect(put(id, 0, block, { Checksum: b64(Buffer.alloc(BLOCK)) })).rejects.toMatchObject({
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(put("snap-0000000000000000f", 0, block)).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      $metadata: { httpStatusCode: 404 },
    });
    await put(id, 2047, block);
  });

  it("checks ChangedBlocksCount and the LINEAR checksum, then refuses further writes", async () => {
    const id = await start();
    const a = Buffer.alloc(BLOCK, 1);
    const b = Buffer.alloc(BLOCK, 2);
    await put(id, 5, b);
    await put(id, 1, a);
    const digest = (x: Buffer) => createHash("sha256").update(x).digest();
    const linear = createHash("sha256")
      .update(Buffer.concat([digest(a), digest(b)]))
      .digest("base64");
    const wrongOrder = createHash("sha256")
      .update(Buffer.concat([digest(b), digest(a)]))
      .digest("base64");
    const complete = (count: number, checksum: string) =>
      ebs.send(
        new CompleteSnapshotCommand({
          SnapshotId: id,
          ChangedBlocksCount: count,
          Checksum: checksum,
          ChecksumAlgorithm: "SHA256",
          ChecksumAggregationMethod: "LINEAR",
        }),
      );
    await expect(complete(3, linear)).rejects.toMatchObject({ name: "ValidationException" });
    await expect(complete(2, wrongOrder)).rejects.toMatchObject({ name: "ValidationException" });
    expect((await complete(2, linear)).Status).toBe("pending");
    await expect(put(id, 0, a)).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("answers throttling and bad keys with AWS's codes and statuses", async () => {
    standin.faults.throttle("ebs", 1);
    await expect(start()).rejects.toMatchObject({
      name: "RequestThrottledException",
      $metadata: { httpStatusCode: 400 },
    });
    standin.faults.throttle("ec2", 1);
    await expect(ec2.send(new DescribeSnapshotsCommand({}))).rejects.toMatchObject({
      name: "RequestLimitExceeded",
      $metadata: { httpStatusCode: 503 },
    });
    const bad = new EBSClient({
      region: "us-east-1",
      endpoint: standin.url,
      credentials: { ...creds, accessKeyId: "AKIANOTKNOWN00000000" },
      maxAttempts: 1,
    });
    await expect(bad.send(new StartSnapshotCommand({ VolumeSize: 1 }))).rejects.toMatchObject({
      name: "UnrecognizedClientException",
      $metadata: { httpStatusCode: 403 },
    });
    bad.destroy();
  });

  it("refuses to register an AMI from a snapshot that is not completed", async () => {
    const id = await start();
    await expect(
      ec2.send(
        new RegisterImageCommand({
          Name: "pending-snap",
          RootDeviceName: "/dev/xvda",
          BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: id } }],
        }),
      ),
    ).rejects.toMatchObject({ name: "IncorrectState" });
  });

  it("refuses StartSnapshot client tokens over 64 characters", async () => {
    await expect(
      ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ClientToken: "x".repeat(65) })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("refuses tags EC2 refuses: reserved aws: keys, over-long values, more than 50 on a resource", async () => {
    const id = await start();
    const tag = (Tags: Array<{ Key: string; Value: string }>) =>
      ec2.send(new CreateTagsCommand({ Resources: [id], Tags }));
    await expect(tag([{ Key: "AWS:owner", Value: "x" }])).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    await expect(tag([{ Key: "k", Value: "v".repeat(257) }])).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    await tag(Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" })));
    await expect(tag([{ Key: "one-more", Value: "v" }])).rejects.toMatchObject({ name: "TagLimitExceeded" });
  });

  it("requires CopyImage's Name", async () => {
    await expect(
      ec2.send(
        new CopyImageCommand({ SourceImageId: "ami-0123456789abcdef0", SourceRegion: "us-east-1" } as never),
      ),
    ).rejects.toMatchObject({ name: "MissingParameter" });
  });
});
