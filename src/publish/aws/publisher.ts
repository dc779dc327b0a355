// publish.aws: an AMI from the disk artifact through the EBS direct APIs (no S3 bucket, no
// VM Import role), registered, tagged, copied to other regions and shared. Idempotent: the AMI
// name is claimed by a build-id tag, so a rerun reuses what an earlier attempt finished.
import type { StatusImage, BuildResult } from "../../api/schema.js";
import { readAwsCredentials } from "../credentials.js";
import type { PublishContext, Publisher } from "../types.js";
import { makeClients, type AwsClients } from "./clients.js";
import { awsTarget } from "./errors.js";
import {
  assertOurs,
  copyImage,
  createTags,
  findImageByName,
  ownerOf,
  registerImage,
  rootSnapshotId,
  share,
  waitForImage,
  type Ec2Call,
  type Owner,
} from "./image.js";
import { renderAmiName } from "./names.js";
import type { RetryPolicy } from "./retry.js";
import { ensureSnapshot } from "./snapshot.js";
import { openRawSource, pickDiskArtifact } from "./source.js";
import { TAG_BUILD_ID, TAG_IMAGEBUILD, TAG_SOURCE_SHA256 } from "./tags.js";

export interface AwsPublisherOptions {
  /** Where AWS_ENDPOINT_URL* are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Blocks in flight at once (default 16). */
  concurrency?: number;
  /** Polling interval for snapshot and AMI state (default 5 s). */
  pollMs?: number;
  retry?: RetryPolicy;
}

type AwsPlan = NonNullable<PublishContext["plan"]["publish"]["aws"]>;

/** The user's tags, a Name, and the owner tags that claim the AMI and snapshots for this build. */
function buildTags(aws: AwsPlan, amiName: string, owner: Owner): Record<string, string> {
  return {
    ...aws.tags,
    Name: aws.tags.Name ?? amiName,
    [TAG_BUILD_ID]: owner.buildId,
    [TAG_IMAGEBUILD]: owner.imageBuild,
  };
}

export function awsPublisher(options: AwsPublisherOptions = {}): Publisher {
  return {
    target: "aws",
    async publish(ctx: PublishContext): Promise<BuildResult> {
      const aws = ctx.plan.publish.aws;
      if (!aws) return { artifacts: [], images: [] };
      const target = awsTarget(aws.region);
      const credentials = await readAwsCredentials(target, ctx.secretsDir, aws.credentials);
      const amiName = renderAmiName(aws.name, {
        name: ctx.plan.imageBuild.name,
        namespace: ctx.plan.imageBuild.namespace,
        buildId: ctx.plan.buildId,
        timestamp: ctx.timestamp,
      });
      const concurrency = options.concurrency ?? 16;
      const pollMs = options.pollMs ?? 5000;
      const clientOpts = {
        env: options.env,
        maxSockets: concurrency * 2,
        ...(credentials ? { credentials } : {}),
      };
      const owner = ownerOf(ctx.plan);
      const tags = buildTags(aws, amiName, owner);
      const opened: AwsClients[] = [];
      const clientsFor = (region: string) => {
        const c = makeClients(region, clientOpts);
        opened.push(c);
        return c;
      };
      try {
        const home = clientsFor(aws.region);
        const call: Ec2Call = { ec2: home.ec2, target, signal: ctx.signal, retry: options.retry };
        const { imageId, snapshotId } = await ensureImage(ctx, aws, amiName, tags, owner, home, call, {
          concurrency,
          pollMs,
        });
        await createTags(call, [imageId, snapshotId], tags);
        await share(call, imageId, snapshotId, aws.shareWithAccounts, aws.public);
        const images: StatusImage[] = [
          { provider: "aws", region: aws.region, imageId, snapshotId, name: amiName },
        ];
        ctx.log.info({ region: aws.region, imageId, snapshotId, name: amiName }, "AMI published");

        for (const region of aws.copyToRegions.filter((r) => r !== aws.region)) {
          const dest = clientsFor(region);
          const destCall: Ec2Call = { ...call, ec2: dest.ec2, target: awsTarget(region) };
          let copy = await findImageByName(destCall, amiName);
          if (copy) assertOurs(destCall, copy, owner);
          const copyId =
            copy?.ImageId ??
            (await copyImage(
              destCall,
              { imageId, region: aws.region, name: amiName, description: aws.description },
              tags,
              owner,
              region,
            ));
          copy = await waitForImage(destCall, copyId, pollMs);
          const copySnapshot = rootSnapshotId(copy);
          if (!copySnapshot) throw new Error(`${destCall.target}: copied AMI ${copyId} has no snapshot`);
          await createTags(destCall, [copyId, copySnapshot], tags);
          await share(destCall, copyId, copySnapshot, aws.shareWithAccounts, aws.public);
          images.push({ provider: "aws", region, imageId: copyId, snapshotId: copySnapshot, name: amiName });
          ctx.log.info({ region, imageId: copyId }, "AMI copied");
        }
        return { artifacts: [], images };
      } finally {
        for (const c of opened) c.destroy();
      }
    },
  };
}

async function ensureImage(
  ctx: PublishContext,
  aws: AwsPlan,
  amiName: string,
  tags: Record<string, string>,
  owner: Owner,
  home: AwsClients,
  call: Ec2Call,
  opts: { concurrency: number; pollMs: number },
): Promise<{ imageId: string; snapshotId: string }> {
  const existing = await findImageByName(call, amiName);
  if (existing?.ImageId) {
    assertOurs(call, existing, owner);
    const image = await waitForImage(call, existing.ImageId, opts.pollMs);
    const snapshotId = rootSnapshotId(image);
    if (!snapshotId) throw new Error(`${call.target}: AMI ${existing.ImageId} has no snapshot`);
    ctx.log.info({ imageId: existing.ImageId }, "AMI already registered by an earlier attempt; reusing it");
    return { imageId: existing.ImageId, snapshotId };
  }
  const artifact = pickDiskArtifact(ctx.artifacts);
  if (!artifact)
    throw new Error(`${call.target}: no disk artifact (raw, qcow2, vmdk or vhd) to make an AMI from`);
  const source = await openRawSource(artifact, ctx.signal);
  try {
    const snapshotId = await ensureSnapshot({
      clients: home,
      target: call.target,
      source,
      sourceSha256: artifact.sha256,
      owner,
      tags: { ...tags, [TAG_SOURCE_SHA256]: artifact.sha256 },
      description: `${amiName} (bib build ${ctx.plan.buildId})`,
      concurrency: opts.concurrency,
      pollMs: opts.pollMs,
      retry: call.retry,
      progress: ctx.progress,
      log: ctx.log,
      signal: ctx.signal,
    });
    const imageId = await registerImage(
      call,
      {
        name: amiName,
        ...(aws.description ? { description: aws.description } : {}),
        architecture: aws.architecture,
        bootMode: aws.bootMode,
        snapshotId,
        tags,
      },
      owner,
    );
    await waitForImage(call, imageId, opts.pollMs);
    return { imageId, snapshotId };
  } finally {
    await source.dispose();
  }
}
