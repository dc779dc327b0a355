// deletionPolicy Delete: removes what a build published — AMIs in every region and their
// snapshots (and any snapshot the build tagged, e.g. one a crash left pending), S3 objects and the
// containerDisk manifest. Idempotent: what is already gone counts as done.
import { DeregisterImageCommand, DescribeImagesCommand, DescribeSnapshotsCommand } from "@aws-sdk/client-ec2";
import type { Logger } from "pino";
import type { CleanableImage, CleanupTargets } from "../api/status-entries.js";
import type { BuildPlan } from "../plan/plan.js";
import { makeClients } from "./aws/clients.js";
import { awsCall, awsTarget } from "./aws/errors.js";
import { deleteSnapshot, isOurs, ownerOf, type Ec2Call, type Owner } from "./aws/image.js";
import type { RetryPolicy } from "./aws/retry.js";
import { TAG_BUILD_ID, TAG_IMAGEBUILD } from "./aws/tags.js";
import { readAwsCredentials } from "./credentials.js";
import { deleteOciManifest, parseOciLocation } from "./oci.js";
import { deleteS3Object, parseS3Location, s3Client, s3Target } from "./s3.js";

export const CLEANUP_FILE = "cleanup.json";

export interface CleanupContext {
  plan: BuildPlan;
  /** What the build published (`status.artifacts` / `status.images`), as cleanup reads it. */
  published: CleanupTargets;
  secretsDir: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  retry?: RetryPolicy;
}

export interface CleanupReport {
  /** One line per object removed or found already gone. */
  done: string[];
  /** Not errors: e.g. a registry that does not allow deletes. */
  warnings: string[];
  /** Objects that could not be deleted; the caller exits non-zero. */
  failures: string[];
}

const gone = (e: unknown, code: RegExp) => code.test((e as Error).message);

export async function cleanupPublished(ctx: CleanupContext): Promise<CleanupReport> {
  const report: CleanupReport = { done: [], warnings: [], failures: [] };
  const attempt = async (what: string, fn: () => Promise<string | void>) => {
    try {
      const outcome = await fn();
      report.done.push(outcome ? `${what}: ${outcome}` : what);
    } catch (error) {
      report.failures.push(`${what}: ${(error as Error).message}`);
    }
  };
  await cleanupAws(ctx, report, attempt);
  await cleanupS3(ctx, attempt);
  await cleanupOci(ctx, report, attempt);
  return report;
}

type Attempt = (what: string, fn: () => Promise<string | void>) => Promise<void>;

async function cleanupAws(ctx: CleanupContext, report: CleanupReport, attempt: Attempt): Promise<void> {
  const images = ctx.published.images.filter((i) => i.provider === "aws" && i.region);
  const regions = new Set(images.map((i) => i.region!));
  if (ctx.plan.publish.aws) {
    regions.add(ctx.plan.publish.aws.region);
    for (const r of ctx.plan.publish.aws.copyToRegions) regions.add(r);
  }
  if (!regions.size) return;
  let credentials;
  try {
    credentials = await readAwsCredentials("cleanup aws", ctx.secretsDir, ctx.plan.publish.aws?.credentials);
  } catch (error) {
    report.failures.push((error as Error).message);
    return;
  }
  const owner = ownerOf(ctx.plan);
  for (const region of regions) {
    const clients = makeClients(region, { env: ctx.env, ...(credentials ? { credentials } : {}) });
    const c: Ec2Call = { ec2: clients.ec2, target: awsTarget(region), signal: ctx.signal, retry: ctx.retry };
    try {
      for (const image of images.filter((i) => i.region === region)) {
        await attempt(`deregister ${image.imageId} (${region})`, () => deregister(c, image, owner));
        if (image.snapshotId)
          await attempt(`delete snapshot ${image.snapshotId} (${region})`, () =>
            deleteSnapshot(c, image.snapshotId!),
          );
      }
      // Snapshots the build tagged but no status entry names: copies' snapshots, crashed attempts.
      await attempt(`delete snapshots tagged ${TAG_BUILD_ID}=${ctx.plan.buildId} (${region})`, async () => {
        const out = await awsCall(c, "DescribeSnapshots", (abortSignal) =>
          clients.ec2.send(
            new DescribeSnapshotsCommand({
              OwnerIds: ["self"],
              Filters: [
                { Name: `tag:${TAG_BUILD_ID}`, Values: [owner.buildId] },
                { Name: `tag:${TAG_IMAGEBUILD}`, Values: [owner.imageBuild] },
              ],
            }),
            { abortSignal },
          ),
        );
        const ids = (out.Snapshots ?? []).map((s) => s.SnapshotId!);
        for (const id of ids) await deleteSnapshot(c, id);
        return `${ids.length} deleted`;
      });
    } finally {
      clients.destroy();
    }
  }
}

async function deregister(c: Ec2Call, image: CleanableImage, owner: Owner): Promise<string> {
  const id = image.imageId;
  if (!id) return "no image id";
  let found;
  try {
    const out = await awsCall(c, "DescribeImages", (abortSignal) =>
      c.ec2.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal }),
    );
    found = out.Images?.[0];
  } catch (error) {
    if (gone(error, /InvalidAMIID\.(NotFound|Unavailable)/)) return "already gone";
    throw error;
  }
  if (!found || found.State === "deregistered") return "already gone";
  // Never delete an AMI another build claims: the status entry could be stale or edited.
  if (!isOurs(found.Tags, owner)) {
    throw new Error(
      `${c.target}: AMI ${id} is not tagged as published by ${owner.imageBuild} (${TAG_BUILD_ID}=${owner.buildId}); not deleting it`,
    );
  }
  try {
    await awsCall(c, "DeregisterImage", (abortSignal) =>
      c.ec2.send(new DeregisterImageCommand({ ImageId: id }), { abortSignal }),
    );
  } catch (error) {
    if (gone(error, /InvalidAMIID\.(NotFound|Unavailable)/)) return "already gone";
    throw error;
  }
  return "deregistered";
}

async function cleanupS3(ctx: CleanupContext, attempt: Attempt): Promise<void> {
  const objects = ctx.published.artifacts
    .map((a) => parseS3Location(a.location))
    .filter((o) => o !== undefined);
  if (!objects.length) return;
  const s3 = ctx.plan.publish.s3 ?? { bucket: objects[0]!.bucket, prefix: "" };
  let client;
  try {
    client = await s3Client(s3, ctx.secretsDir, ctx.env ?? process.env);
  } catch (error) {
    await attempt(`delete ${objects.length} S3 objects`, () => Promise.reject(error as Error));
    return;
  }
  try {
    for (const o of objects) {
      await attempt(`delete s3://${o.bucket}/${o.key}`, () =>
        deleteS3Object(client, s3Target({ bucket: o.bucket }), o.bucket, o.key),
      );
    }
  } finally {
    client.destroy();
  }
}

async function cleanupOci(ctx: CleanupContext, report: CleanupReport, attempt: Attempt): Promise<void> {
  const locations = ctx.published.artifacts
    .map((a) => parseOciLocation(a.location))
    .filter((o) => o !== undefined);
  for (const image of ctx.published.images) {
    if (image.provider !== "oci" || !image.name || !image.digest) continue;
    const at = image.name.lastIndexOf(":");
    const repository = at > image.name.lastIndexOf("/") ? image.name.slice(0, at) : image.name;
    if (!locations.some((l) => l.digest === image.digest))
      locations.push({ repository, tag: "", digest: image.digest });
  }
  for (const l of locations) {
    const oci = ctx.plan.publish.oci ?? { repository: l.repository, tag: l.tag, insecure: false };
    await attempt(`delete ${l.repository}@${l.digest}`, async () => {
      const outcome = await deleteOciManifest(oci, ctx.secretsDir, l);
      if (outcome === "unsupported")
        report.warnings.push(
          `${l.repository}: the registry does not allow deleting manifests; left in place`,
        );
      return outcome === "gone" ? "already gone" : outcome;
    });
  }
}
