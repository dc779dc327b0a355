// Step `package`: turns the tree into the requested artifact files. The raw disk is assembled in
// place (GPT by sfdisk, ext4 by mkfs.ext4 -d at its offset, FAT by mkfs.vfat + mtools), the other
// disk formats are converted from it, and the tarball is made from the tree. Every file is written
// under a hidden partial name and renamed only when all of them are complete.
import type { Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Format } from "../../api/schema.js";
import { bootFiles, diskFormats, type DiskFormat } from "../../plan/formats.js";
import type { Artifact } from "../../plan/artifact.js";
import {
  writeBiosBoot,
  writeEsp,
  writeExt4,
  writePartitionTable,
  treeUsage,
  FilesystemFullError,
} from "../disk/filesystems.js";
import { artifactFileName, biosDir, espDir, partialFileName } from "../disk/formats.js";
import { diskIds } from "../disk/ids.js";
import { diskLayout, ext4BytesNeeded } from "../disk/layout.js";
import { convertRaw } from "../disk/qemu-img.js";
import { sha256File, sha256State } from "../disk/sha256.js";
import { writeTarball } from "../disk/tarball.js";
import { tooSmallMessage } from "../disk/too-small.js";
import { removeArtifactsState, writeArtifactsState } from "../artifacts-state.js";
import { StepError, workspacePaths, type StageContext, type Step } from "../stage.js";

const fail = (what: string, cause?: unknown) =>
  new StepError("package", "package", what, cause === undefined ? undefined : { cause });

async function timed<T>(ctx: StageContext, what: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await work();
  ctx.log.info({ seconds: (Date.now() - start) / 1000 }, `package: ${what}`);
  return result;
}

async function createSparseFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, "w");
  try {
    await handle.truncate(bytes);
  } finally {
    await handle.close();
  }
}

async function buildRawDisk(ctx: StageContext, raw: string): Promise<void> {
  const { plan } = ctx;
  const { rootfs } = workspacePaths(ctx.workspace);
  if (plan.disk.filesystem !== "ext4")
    throw fail(`spec.disk.filesystem ${plan.disk.filesystem} is not supported; use ext4`);
  const mode = plan.disk.bootMode;
  const esp = espDir(ctx.workspace);
  const bios = biosDir(ctx.workspace);
  const needs = bootFiles(mode);
  for (const [needed, dir] of [
    [needs.esp, esp],
    [needs.bios, bios],
  ] as const) {
    if (needed && !existsSync(dir))
      throw fail(`no boot files at ${dir}: the bootable step must run before package`);
  }

  const layout = diskLayout(plan.disk.sizeBytes, mode);
  const ids = diskIds(plan.buildId);
  await createSparseFile(raw, layout.diskBytes);
  await writePartitionTable(raw, layout, ids, ctx.signal);
  // Three jobs at once, each on its own byte range of the file or none: the size check's walk of
  // the tree, mkfs.ext4 (the long one) and the ESP. A disk the check finds clearly too small stops
  // mkfs and fails with the same message as when the check ran first.
  const tooSmall = new AbortController();
  const mkfsSignal = AbortSignal.any([ctx.signal, tooSmall.signal]);
  const usage = timed(ctx, "measured the tree", () => treeUsage(rootfs, ctx.signal)).then((u) => {
    if (ext4BytesNeeded(u) > layout.root.bytes) {
      tooSmall.abort();
      throw fail(tooSmallMessage(plan.disk.sizeBytes, u, mode));
    }
    return u;
  });
  const ext4 = timed(ctx, "root filesystem written (mkfs.ext4 -d)", () =>
    writeExt4(raw, layout, ids, rootfs, mkfsSignal),
  ).catch(async (error: unknown) => {
    if (error instanceof FilesystemFullError)
      throw fail(tooSmallMessage(plan.disk.sizeBytes, await usage, mode), error);
    throw error;
  });
  const espWritten = layout.esp ? writeEsp(raw, layout.esp, ids, esp, ctx.signal) : Promise.resolve();
  // The size check's verdict first: it explains why mkfs was stopped.
  await allOrFirstError<unknown>([usage, ext4, espWritten]);
  if (layout.biosBoot) await writeBiosBoot(raw, layout.biosBoot, bios);
}

/** A fixed VHD is the raw disk followed by a 512-byte footer. */
const VHD_FOOTER = 512;

/**
 * Sizes and hashes of the finished files. The raw disk is read once: its hash state, extended by
 * the footer, is also the fixed VHD's hash, which saves a full pass over a multi-GiB file.
 */
function hasher(ctx: StageContext, raw: string) {
  let rawState: Promise<Hash> | undefined;
  const progress = (task: string, size: number) => (done: number) =>
    ctx.progress.update(task, done, size, "bytes");
  const hashRaw = async () => {
    const { size } = await stat(raw);
    rawState ??= sha256State(raw, { signal: ctx.signal, onBytes: progress("sha256 raw disk", size) });
    return { state: await rawState, size };
  };
  return async (format: Format, file: string, finalPath: string): Promise<Artifact> => {
    const { size } = await stat(file);
    let sha256: string;
    if (format === "raw") sha256 = (await hashRaw()).state.copy().digest("hex");
    else if (format === "vhd" && size === (await stat(raw)).size + VHD_FOOTER) {
      const footer = Buffer.alloc(VHD_FOOTER);
      const handle = await open(file, "r");
      try {
        await handle.read(footer, 0, VHD_FOOTER, size - VHD_FOOTER);
      } finally {
        await handle.close();
      }
      sha256 = (await hashRaw()).state.copy().update(footer).digest("hex");
    } else {
      sha256 = await sha256File(file, {
        signal: ctx.signal,
        onBytes: progress(`sha256 ${path.basename(finalPath)}`, size),
      });
    }
    return { format, path: finalPath, size, sha256 };
  };
}

/** Settles every job before returning (none still writes a partial file), then fails with the first error. */
async function allOrFirstError<T>(jobs: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(jobs);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** The raw disk, then every other disk format converted from it at once, each hashed when written. */
async function diskArtifacts(
  ctx: StageContext,
  formats: readonly DiskFormat[],
  partial: (format: Format) => string,
  finalPath: (format: Format) => string,
): Promise<Artifact[]> {
  const { plan } = ctx;
  const raw = partial("raw");
  await buildRawDisk(ctx, raw);
  const bytes = diskLayout(plan.disk.sizeBytes, plan.disk.bootMode).diskBytes;
  const describeArtifact = hasher(ctx, raw);
  return allOrFirstError(
    formats.map(async (format) => {
      if (format !== "raw") {
        await timed(ctx, `converted to ${format}`, () =>
          convertRaw(raw, partial(format), format, {
            progress: ctx.progress,
            task: `convert ${format}`,
            bytes,
            signal: ctx.signal,
          }),
        );
      }
      return timed(ctx, `hashed ${format}`, () =>
        describeArtifact(format, partial(format), finalPath(format)),
      );
    }),
  );
}

/**
 * The disk chain (mkfs, then the conversions) and the tarball read the same tree and run at the
 * same time: mkfs.ext4 and qemu-img mostly wait on the disk while the compressor keeps a core busy.
 */
async function packageAll(ctx: StageContext, partials: Map<Format, string>): Promise<Artifact[]> {
  const { plan } = ctx;
  const { rootfs, artifacts } = workspacePaths(ctx.workspace);
  const partial = (format: Format) => path.join(artifacts, partialFileName(plan.buildName, format));
  const finalPath = (format: Format) => path.join(artifacts, artifactFileName(plan.buildName, format));
  const disks = diskFormats(plan.formats);
  if (disks.length > 0) partials.set("raw", partial("raw"));
  for (const format of plan.formats) partials.set(format, partial(format));

  const jobs: Array<Promise<Artifact[]>> = [];
  if (disks.length > 0) jobs.push(diskArtifacts(ctx, disks, partial, finalPath));
  if (plan.formats.includes("tgz")) {
    jobs.push(
      timed(ctx, "tarball written and hashed", async () => {
        const { size, sha256 } = await writeTarball(rootfs, partial("tgz"), ctx.timestamp, {
          signal: ctx.signal,
        });
        return [{ format: "tgz" as const, path: finalPath("tgz"), size, sha256 }];
      }),
    );
  }
  const byFormat = new Map((await allOrFirstError(jobs)).flat().map((a) => [a.format, a]));
  const result = plan.formats.map((format) => byFormat.get(format)!);
  for (const artifact of result) {
    await rename(partial(artifact.format), artifact.path);
    partials.delete(artifact.format);
  }
  return result;
}

export const packageStep: Step = {
  name: "package",
  stage: "package",
  async run(ctx: StageContext): Promise<void> {
    const { artifacts, state } = workspacePaths(ctx.workspace);
    await mkdir(artifacts, { recursive: true });
    await mkdir(state, { recursive: true });
    // Artifacts of an earlier attempt must not survive a failed one under their final names.
    for (const format of ctx.plan.formats) {
      await rm(path.join(artifacts, artifactFileName(ctx.plan.buildName, format)), { force: true });
    }
    await removeArtifactsState(ctx.workspace);
    const partials = new Map<Format, string>();
    try {
      const result = await packageAll(ctx, partials);
      await writeArtifactsState(ctx.workspace, result);
      for (const a of result)
        ctx.log.info({ format: a.format, size: a.size, sha256: a.sha256 }, `package: ${a.path}`);
    } catch (error) {
      if (error instanceof StepError) throw error;
      throw fail((error as Error).message, error);
    } finally {
      for (const file of partials.values()) await rm(file, { force: true });
    }
  },
};
