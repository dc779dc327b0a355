import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import pino from "pino";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/plan/artifact.js";
import { cleanupPublished } from "../../src/publish/cleanup.js";
import { s3Publisher } from "../../src/publish/s3.js";
import {
  artifactFor,
  contextFor,
  planWith,
  sparseImage,
  tempDir,
  writeSecrets,
  type RecordingProgress,
} from "./publish-fixtures.js";

const MiB = 2 ** 20;
// s3rver accepts any access key whose secret it knows; its default pair is S3RVER/S3RVER.
const KEY = "S3RVER";
let server: S3rver;
let endpoint: string;
let dir: string;
let secretsDir: string;
let big: Artifact;
let small: Artifact;

beforeAll(async () => {
  dir = await tempDir("s3");
  server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: path.join(dir, "store"),
    configureBuckets: [{ name: "images", configs: [] }],
  });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  secretsDir = path.join(dir, "secrets");
  await writeSecrets(secretsDir, { "s3.AWS_ACCESS_KEY_ID": KEY, "s3.AWS_SECRET_ACCESS_KEY": KEY });
  const bigPath = path.join(dir, "golden.raw");
  await sparseImage(bigPath, 13 * MiB, 4, 2 * MiB);
  big = await artifactFor(bigPath, "raw");
  const smallPath = path.join(dir, "golden.tgz");
  await sparseImage(smallPath, 300_000, 1, 100_000);
  small = await artifactFor(smallPath, "tgz");
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const plan = () =>
  planWith({
    s3: {
      bucket: "images",
      prefix: "builds/",
      region: "eu-central-1",
      endpoint,
      credentialsSecretRef: { name: "s3" },
    },
  });

function reader(): S3Client {
  return new S3Client({
    region: "eu-central-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: KEY, secretAccessKey: KEY },
  });
}

describe("s3 publisher against s3rver", () => {
  it("uploads multipart above the part size, stores the sha256, and round-trips the bytes", async () => {
    const p = plan();
    const ctx = contextFor(p, [big, small], { secretsDir, volumeRoot: dir });
    const result = await s3Publisher({ partSize: 5 * MiB }).publish(ctx);
    expect(result.artifacts.map((a) => a.location)).toEqual([
      "s3://images/builds/golden.raw",
      "s3://images/builds/golden.tgz",
    ]);

    const client = reader();
    for (const artifact of [big, small]) {
      const key = `builds/${path.basename(artifact.path)}`;
      const object = await client.send(new GetObjectCommand({ Bucket: "images", Key: key }));
      const bytes = await object.Body!.transformToByteArray();
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(artifact.sha256);
      expect(object.Metadata?.sha256).toBe(artifact.sha256);
    }
    // 13 MiB in 5 MiB parts is a multipart upload: one progress report per part.
    const progress = (ctx.progress as RecordingProgress).updates.filter(
      (u) => u.task === "s3 builds/golden.raw",
    );
    expect(new Set(progress.map((u) => u.done)).size).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toMatchObject({ done: big.size, total: big.size, unit: "bytes" });
    client.destroy();
  });

  it("cleanup deletes the objects and is idempotent", async () => {
    const p = plan();
    const result = await s3Publisher({ partSize: 5 * MiB }).publish(
      contextFor(p, [small], { secretsDir, volumeRoot: dir }),
    );
    const cleanup = () =>
      cleanupPublished({ plan: p, published: result, secretsDir, log: pino({ level: "silent" }), env: {} });
    expect((await cleanup()).failures).toEqual([]);
    const client = reader();
    await expect(
      client.send(new HeadObjectCommand({ Bucket: "images", Key: "builds/golden.tgz" })),
    ).rejects.toMatchObject({
      name: "NotFound",
    });
    const again = await cleanup();
    expect(again.failures).toEqual([]);
    expect(again.done).toEqual(["delete s3://images/builds/golden.tgz"]);
    client.destroy();
  });

  it("names the bucket when the credentials are rejected", async () => {
    const bad = path.join(dir, "bad");
    await writeSecrets(bad, { "s3.AWS_ACCESS_KEY_ID": "WRONGKEY", "s3.AWS_SECRET_ACCESS_KEY": "nope" });
    await expect(
      s3Publisher().publish(contextFor(plan(), [small], { secretsDir: bad, volumeRoot: dir })),
    ).rejects.toThrow(/^publish\.s3 \(images\): credentials rejected/);
  });
});
