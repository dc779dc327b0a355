// publish.s3: uploads each artifact with the SDK's multipart Upload, to AWS or an S3-compatible
// store (custom endpoint, path-style). The object's sha256 is stored as metadata, so a rerun skips
// objects that already hold the same bytes.
import { createReadStream } from "node:fs";
import path from "node:path";
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { BuildResult } from "../api/schema.js";
import type { PublishPlan } from "../plan/plan.js";
import { readAwsCredentials } from "./credentials.js";
import { endpointFromEnv } from "./aws/clients.js";
import { errorName } from "./aws/retry.js";
import type { PublishContext, Publisher } from "./types.js";

type S3Plan = NonNullable<PublishPlan["s3"]>;

export interface S3PublisherOptions {
  env?: NodeJS.ProcessEnv;
  /** Multipart part size in bytes (S3's minimum is 5 MiB); default 64 MiB. */
  partSize?: number;
  /** Parts in flight at once; default 4 (memory: partSize x queueSize). */
  queueSize?: number;
}

const CREDENTIALS_REJECTED = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
]);

export function s3Target(s3: Pick<S3Plan, "bucket">): string {
  return `publish.s3 (${s3.bucket})`;
}

export function s3Key(prefix: string, file: string): string {
  return `${prefix}${path.basename(file)}`;
}

export function parseS3Location(location: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

export function describeS3Error(target: string, action: string, error: unknown): Error {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (CREDENTIALS_REJECTED.has(name))
    return new Error(`${target}: credentials rejected: ${message}`, { cause: error });
  if (name === "NoSuchBucket") return new Error(`${target}: the bucket does not exist`, { cause: error });
  if (name === "AccessDenied")
    return new Error(`${target}: ${action} not allowed: ${message}`, { cause: error });
  return new Error(`${target}: ${action} failed: ${name}: ${message}`, { cause: error });
}

export async function s3Client(s3: S3Plan, secretsDir: string, env: NodeJS.ProcessEnv): Promise<S3Client> {
  const credentials = await readAwsCredentials(s3Target(s3), secretsDir, s3.credentials);
  const endpoint = s3.endpoint ?? endpointFromEnv(env, "S3");
  return new S3Client({
    region: s3.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    // S3-compatible stores (MinIO, Ceph RGW, ...) mostly want path-style URLs.
    forcePathStyle: s3.forcePathStyle ?? Boolean(endpoint),
    maxAttempts: 8,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

async function alreadyThere(
  client: S3Client,
  bucket: string,
  key: string,
  size: number,
  sha256: string,
): Promise<boolean> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength === size && head.Metadata?.sha256 === sha256;
  } catch (error) {
    if (errorName(error) === "NotFound" || errorName(error) === "NoSuchKey") return false;
    // HEAD answers carry no error body, and s3:GetObject may simply not be granted: upload anyway,
    // and let the upload's own error (with its code) say what is wrong.
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403)
      return false;
    throw error;
  }
}

export function s3Publisher(options: S3PublisherOptions = {}): Publisher {
  return {
    target: "s3",
    async publish(ctx: PublishContext): Promise<BuildResult> {
      const s3 = ctx.plan.publish.s3;
      if (!s3) return { artifacts: [], images: [] };
      const target = s3Target(s3);
      const client = await s3Client(s3, ctx.secretsDir, options.env ?? process.env);
      const artifacts: BuildResult["artifacts"] = [];
      try {
        for (const artifact of ctx.artifacts) {
          const key = s3Key(s3.prefix, artifact.path);
          const location = `s3://${s3.bucket}/${key}`;
          const skip = await alreadyThere(client, s3.bucket, key, artifact.size, artifact.sha256).catch(
            (e: unknown) => {
              throw describeS3Error(target, "HeadObject", e);
            },
          );
          if (!skip) {
            const upload = new Upload({
              client,
              params: {
                Bucket: s3.bucket,
                Key: key,
                Body: createReadStream(artifact.path),
                ContentLength: artifact.size,
                ContentType: "application/octet-stream",
                Metadata: { sha256: artifact.sha256, format: artifact.format },
              },
              partSize: options.partSize ?? 64 * 2 ** 20,
              queueSize: options.queueSize ?? 4,
              leavePartsOnError: false,
              ...(ctx.signal ? { abortController: abortControllerFor(ctx.signal) } : {}),
            });
            upload.on("httpUploadProgress", (p) =>
              ctx.progress.update(`s3 ${key}`, p.loaded ?? 0, artifact.size, "bytes"),
            );
            await upload.done().catch((e: unknown) => {
              throw describeS3Error(target, "upload", e);
            });
            ctx.log.info({ location, size: artifact.size }, "artifact uploaded");
          } else {
            ctx.log.info({ location }, "object already holds this artifact; not uploading again");
          }
          artifacts.push({ format: artifact.format, size: artifact.size, sha256: artifact.sha256, location });
        }
      } finally {
        client.destroy();
      }
      return { artifacts, images: [] };
    },
  };
}

function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller;
}

/** Deletes one object; S3 answers 204 for a key that is already gone, so this is idempotent. */
export async function deleteS3Object(
  client: S3Client,
  target: string,
  bucket: string,
  key: string,
): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((e: unknown) => {
    if (errorName(e) === "NoSuchKey") return;
    throw describeS3Error(target, "DeleteObject", e);
  });
}
