// publish.volume: copies the artifacts into a directory, atomically: each file is written under a
// temporary name in the destination directory, fsynced and renamed, so the final name never holds
// a half-written file (a reader, or a crash, sees the old file or the whole new one).
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { BuildResult } from "../api/schema.js";
import type { PublishContext, Publisher } from "./types.js";

/**
 * How a copied file is reported: `pvc://<claimName>/<path><file>` from the build Pod, where
 * volumeRoot is the claim's mount; `file://<absolute path>` from `bib build` / `bib publish` on one
 * machine, where volumeRoot is the output directory.
 */
export type LocationStyle = "pvc" | "file";

export function volumeLocation(
  style: LocationStyle,
  claimName: string,
  subPath: string,
  file: string,
  absolute: string,
): string {
  if (style === "file") return `file://${absolute}`;
  const dir = subPath.replace(/^\/+/, "");
  return `pvc://${claimName}/${dir}${dir && !dir.endsWith("/") ? "/" : ""}${file}`;
}

/** The destination directory, refusing a path that would leave the volume. */
export function destinationDir(volumeRoot: string, subPath: string): string {
  const root = path.resolve(volumeRoot);
  const dir = path.resolve(root, subPath.replace(/^\/+/, ""));
  if (dir !== root && !dir.startsWith(root + path.sep)) {
    throw new Error(`publish.volume.path: "${subPath}" is outside the volume`);
  }
  return dir;
}

async function fsyncPath(file: string, flags: number): Promise<void> {
  const fh = await open(file, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Copies `source` to `dest` so that `dest` is either absent/old or complete and durable. */
export async function atomicCopy(source: string, dest: string): Promise<void> {
  const temp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    // FICLONE when the file system can (a reflink costs no space or time), a plain copy otherwise.
    await copyFile(source, temp, constants.COPYFILE_FICLONE);
    await fsyncPath(temp, constants.O_RDONLY);
    await rename(temp, dest);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // The rename is durable only once the directory entry is.
  await fsyncPath(path.dirname(dest), constants.O_RDONLY | constants.O_DIRECTORY);
}

export function volumePublisher(style: LocationStyle): Publisher {
  return {
    target: "volume",
    async publish(ctx: PublishContext): Promise<BuildResult> {
      const volume = ctx.plan.publish.volume;
      if (!volume) return { artifacts: [], images: [] };
      const dir = destinationDir(ctx.volumeRoot, volume.path);
      await mkdir(dir, { recursive: true });
      const total = ctx.artifacts.reduce((n, a) => n + a.size, 0);
      let done = 0;
      const artifacts: BuildResult["artifacts"] = [];
      for (const artifact of ctx.artifacts) {
        ctx.signal?.throwIfAborted();
        const file = path.basename(artifact.path);
        const dest = path.join(dir, file);
        if (path.resolve(artifact.path) !== dest) await atomicCopy(artifact.path, dest);
        done += artifact.size;
        ctx.progress.update("volume copy", done, total, "bytes");
        const location = volumeLocation(style, volume.claimName, volume.path, file, dest);
        ctx.log.info({ location, size: artifact.size }, "artifact copied to the volume");
        artifacts.push({ format: artifact.format, size: artifact.size, sha256: artifact.sha256, location });
      }
      return { artifacts, images: [] };
    },
  };
}
