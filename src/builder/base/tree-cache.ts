// A cache of debootstrapped trees in the package cache directory: debootstrap spends most of its
// time resolving and configuring packages, not downloading, so a warm build reuses the tree of an
// earlier build with the same suite, variant, includes and mirror for up to a day. The packages
// step then brings it up to date with the mirror (apt-get update before installing).
import { createHash } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { run } from "../../util/exec.js";
import { extractArgs } from "./tarball.js";

export const TREE_CACHE_MAX_AGE_MS = 24 * 3600 * 1000;

export function treeCacheKey(input: {
  suite: string;
  variant?: string;
  include: readonly string[];
  mirror?: string;
}): string {
  const canonical = JSON.stringify({
    suite: input.suite,
    variant: input.variant ?? "",
    include: [...input.include].sort(),
    mirror: input.mirror ?? "",
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 24);
}

export function treeCacheFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, "trees", `debootstrap-${key}.tar.zst`);
}

/** The cached tree's archive when it exists and is fresh enough. */
export async function freshCachedTree(file: string, now: number): Promise<boolean> {
  const s = await stat(file).catch(() => undefined);
  return s !== undefined && now - s.mtimeMs < TREE_CACHE_MAX_AGE_MS;
}

/** What the stored archive keeps, for extractArgs (the tarball base's unpacking) to restore. */
const TAR_KEEP = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"];

export async function extractCachedTree(file: string, rootfs: string, signal: AbortSignal): Promise<void> {
  await run("tar", ["--zstd", ...extractArgs(file, rootfs)], { signal });
}

/** Stores the tree; written under a temporary name so that a half archive is never used. */
export async function storeTree(rootfs: string, file: string, signal: AbortSignal): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  try {
    await run("tar", ["--create", "--zstd", "--file", partial, "--directory", rootfs, ...TAR_KEEP, "."], {
      signal,
    });
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}
