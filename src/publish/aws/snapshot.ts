// An EBS snapshot written through the EBS direct APIs: StartSnapshot, PutSnapshotBlock for each
// non-zero 512 KiB block, CompleteSnapshot with the LINEAR checksum, then wait for `completed`.
// Resumable: a build's snapshots are tagged with its id, so a rerun finds what a crash left behind.
import { open } from "node:fs/promises";
import { CompleteSnapshotCommand, StartSnapshotCommand, type Tag as EbsTag } from "@aws-sdk/client-ebs";
import { DescribeSnapshotsCommand, type Snapshot } from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import type { Progress } from "../../util/progress.js";
import {
  EBS_BLOCK_SIZE,
  blockCount,
  blocksInRanges,
  isZeroBlock,
  linearChecksum,
  sha256,
  volumeSizeGiB,
} from "./blocks.js";
import type { AwsClients } from "./clients.js";
import { awsCall } from "./errors.js";
import { deleteSnapshot, type Ec2Call, type Owner } from "./image.js";
import { pollDelay, sleep, type RetryPolicy } from "./retry.js";
import type { RawSource } from "./source.js";
import { TAG_BUILD_ID, TAG_IMAGEBUILD, TAG_SOURCE_SHA256 } from "./tags.js";

export interface SnapshotOptions {
  clients: AwsClients;
  target: string;
  source: RawSource;
  /** sha256 of the artifact the source came from: a snapshot of other bytes is never reused. */
  sourceSha256: string;
  owner: Owner;
  tags: Record<string, string>;
  description: string;
  concurrency: number;
  pollMs: number;
  retry?: RetryPolicy;
  progress: Progress;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  signal?: AbortSignal;
}

export interface UploadStats {
  blocks: number;
  bytes: number;
}

/** StartSnapshot's idempotency token: the same build, bytes and region give the same token. */
export function snapshotClientToken(
  owner: Owner,
  sourceSha256: string,
  region: string,
  generation: number,
): string {
  const h = createHash("sha256")
    .update(`${owner.imageBuild}\n${owner.buildId}\n${sourceSha256}\n${region}\n${generation}`)
    .digest("hex");
  return `bib-${h.slice(0, 48)}`;
}

async function taggedSnapshots(o: SnapshotOptions): Promise<Snapshot[]> {
  const out = await call(o, "DescribeSnapshots", () =>
    o.clients.ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ["self"],
        Filters: [
          { Name: `tag:${TAG_BUILD_ID}`, Values: [o.owner.buildId] },
          { Name: `tag:${TAG_IMAGEBUILD}`, Values: [o.owner.imageBuild] },
          { Name: `tag:${TAG_SOURCE_SHA256}`, Values: [o.sourceSha256] },
        ],
      }),
      { abortSignal: o.signal },
    ),
  );
  return out.Snapshots ?? [];
}

/** How the snapshot's AWS calls are made; unlike the publisher's others, they log each retry. */
function calls(o: SnapshotOptions): Ec2Call {
  return {
    ec2: o.clients.ec2,
    target: o.target,
    retry: o.retry,
    signal: o.signal,
    onRetry: (action, error, attempt) =>
      o.log.warn({ action, attempt, error: (error as Error).name }, "retrying AWS call"),
  };
}

function call<T>(o: SnapshotOptions, action: string, fn: () => Promise<T>): Promise<T> {
  return awsCall(calls(o), action, fn);
}

/** The id of a completed snapshot holding the source's bytes; uploads only when needed. */
export async function ensureSnapshot(o: SnapshotOptions): Promise<string> {
  const existing = await taggedSnapshots(o);
  const done = existing.find((s) => s.State === "completed");
  if (done?.SnapshotId) {
    o.log.info({ snapshotId: done.SnapshotId }, "reusing the completed snapshot of an earlier attempt");
    return done.SnapshotId;
  }
  for (const s of existing.filter((s) => s.State === "error")) await deleteSnapshot(calls(o), s.SnapshotId!);

  for (let generation = 0; generation < 3; generation++) {
    const started = await startSnapshot(o, generation);
    // Pending snapshots of crashed attempts that StartSnapshot did not hand back are deleted, so
    // nothing is left behind half-written.
    for (const s of existing) {
      if (s.State === "pending" && s.SnapshotId !== started.id) await deleteSnapshot(calls(o), s.SnapshotId!);
    }
    if (started.status === "completed") return started.id;
    if (started.status === "error") {
      await deleteSnapshot(calls(o), started.id);
      continue;
    }
    const resumed = existing.some((s) => s.SnapshotId === started.id);
    if (resumed)
      o.log.info({ snapshotId: started.id }, "resuming a pending snapshot: writing all blocks again");
    try {
      const stats = await uploadAndComplete(o, started.id);
      o.log.info({ snapshotId: started.id, ...stats }, "snapshot blocks written");
    } catch (error) {
      // A snapshot whose CompleteSnapshot went through just before the crash is still `pending`
      // while EBS finishes it, but takes no more blocks: wait for it instead of failing.
      if (!resumed || !/ValidationException/.test((error as Error).message)) throw error;
      o.log.info(
        { snapshotId: started.id },
        "the resumed snapshot takes no more blocks: it was completed; waiting",
      );
    }
    await waitForSnapshot(o, started.id);
    return started.id;
  }
  throw new Error(`${o.target}: StartSnapshot kept returning snapshots in the error state`);
}

async function startSnapshot(
  o: SnapshotOptions,
  generation: number,
): Promise<{ id: string; status: string }> {
  const tags: EbsTag[] = Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value }));
  const out = await call(o, "StartSnapshot", () =>
    o.clients.ebs.send(
      new StartSnapshotCommand({
        VolumeSize: volumeSizeGiB(o.source.size),
        Description: o.description,
        Tags: tags,
        ClientToken: snapshotClientToken(o.owner, o.sourceSha256, o.clients.region, generation),
        // Minutes until an unfinished snapshot turns to `error` by itself, should we never come back.
        Timeout: 120,
      }),
      { abortSignal: o.signal },
    ),
  );
  if (!out.SnapshotId) throw new Error(`${o.target}: StartSnapshot returned no snapshot id`);
  if (out.BlockSize !== undefined && out.BlockSize !== EBS_BLOCK_SIZE) {
    throw new Error(`${o.target}: unexpected EBS block size ${out.BlockSize}`);
  }
  return { id: out.SnapshotId, status: out.Status ?? "pending" };
}

/** Writes every non-zero block with bounded concurrency, then CompleteSnapshot. */
export async function uploadAndComplete(o: SnapshotOptions, snapshotId: string): Promise<UploadStats> {
  const total = blockCount(o.source.size);
  // 32 bytes per block of the volume (256 KiB for 8 GiB); blocks complete out of order.
  const digests = Buffer.alloc(total * 32);
  const written = new Uint8Array(total);
  // Listed once, at most 8 bytes per block of the volume: the workers take from it, and its
  // length is the progress total.
  const candidates = [...blocksInRanges(o.source.dataRanges, o.source.size)];
  const c = calls(o);
  let taken = 0;
  let scanned = 0;
  let blocks = 0;
  let failed = false;
  const file = await open(o.source.path, "r");
  try {
    const worker = async () => {
      const block = Buffer.alloc(EBS_BLOCK_SIZE);
      while (!failed && !o.signal?.aborted && taken < candidates.length) {
        const index = candidates[taken++]!;
        const offset = index * EBS_BLOCK_SIZE;
        const length = Math.min(EBS_BLOCK_SIZE, o.source.size - offset);
        const { bytesRead } = await file.read(block, 0, length, offset);
        // The last block of a disk that is not a multiple of 512 KiB is padded with zeros.
        block.fill(0, bytesRead);
        scanned++;
        if (!isZeroBlock(block)) {
          const digest = sha256(block);
          await awsCall(c, "PutSnapshotBlock", (signal) =>
            o.clients.putBlock({ snapshotId, index, data: block, sha256: digest }, signal),
          );
          digest.copy(digests, index * 32);
          written[index] = 1;
          blocks++;
        }
        o.progress.update("aws snapshot", scanned, candidates.length, "blocks");
      }
    };
    const workers = Array.from({ length: o.concurrency }, () =>
      worker().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    );
    const results = await Promise.allSettled(workers);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (rejected) throw rejected.reason;
    if (o.signal?.aborted) throw o.signal.reason;
  } finally {
    await file.close();
  }

  const inOrder = function* () {
    for (let i = 0; i < total; i++) if (written[i]) yield digests.subarray(i * 32, i * 32 + 32);
  };
  await call(o, "CompleteSnapshot", () =>
    o.clients.ebs.send(
      new CompleteSnapshotCommand({
        SnapshotId: snapshotId,
        ChangedBlocksCount: blocks,
        Checksum: linearChecksum(inOrder()),
        ChecksumAlgorithm: "SHA256",
        ChecksumAggregationMethod: "LINEAR",
      }),
      { abortSignal: o.signal },
    ),
  );
  return { blocks, bytes: blocks * EBS_BLOCK_SIZE };
}

export async function waitForSnapshot(o: SnapshotOptions, snapshotId: string): Promise<void> {
  for (let poll = 0; ; poll++) {
    const out = await call(o, "DescribeSnapshots", () =>
      o.clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }), {
        abortSignal: o.signal,
      }),
    );
    const state = out.Snapshots?.[0]?.State;
    if (state === "completed") return;
    if (state === "error" || state === undefined) {
      throw new Error(`${o.target}: snapshot ${snapshotId} ${state === "error" ? "failed" : "disappeared"}`);
    }
    await sleep(pollDelay(poll, o.pollMs), o.signal);
  }
}
