// A tarball base: downloaded (http, https or file://) into the workspace, its sha256 checked
// BEFORE anything is extracted, then unpacked with owners, modes and extended attributes kept.
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { run } from "../../util/exec.js";
import { writeHashed } from "../disk/sha256.js";

export interface DownloadProgress {
  (done: number, total: number): void;
}

async function openSource(url: string, signal?: AbortSignal): Promise<{ stream: Readable; total: number }> {
  if (url.startsWith("file://")) {
    const file = fileURLToPath(url);
    return { stream: createReadStream(file), total: (await stat(file)).size };
  }
  if (!/^https?:\/\//.test(url)) throw new Error(`spec.base.tarball.url: unsupported scheme in ${url}`);
  const response = await fetch(url, signal ? { signal } : {});
  if (!response.ok || !response.body) {
    throw new Error(`spec.base.tarball.url: download failed: HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get("content-length") ?? 0);
  return { stream: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), total };
}

/** Copies the tarball to `dest` and returns its sha256 (hex), computed on the way. */
export async function download(
  url: string,
  dest: string,
  options: { signal?: AbortSignal; onProgress?: DownloadProgress } = {},
): Promise<string> {
  const { stream, total } = await openSource(url, options.signal);
  const onBytes = (done: number) => options.onProgress?.(done, total);
  const written = await writeHashed(stream, dest, {
    onBytes,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return written.sha256;
}

export function checksumError(expected: string, actual: string): Error | undefined {
  if (expected.toLowerCase() === actual.toLowerCase()) return undefined;
  return new Error(
    `spec.base.tarball.sha256 does not match the download: expected ${expected}, got ${actual}`,
  );
}

/**
 * GNU tar detects the compression (gzip, xz, zstd, bzip2) from the file's contents. What a tarball
 * holds under /dev is left out: the booted system mounts devtmpfs there, the build binds its own
 * nodes, and making nodes would need CAP_MKNOD (and fails to work on a `nodev` workspace).
 */
export function extractArgs(archive: string, rootfs: string): string[] {
  return [
    "--extract",
    "--anchored",
    "--exclude=./dev/*",
    "--exclude=dev/*",
    "--file",
    archive,
    "--directory",
    rootfs,
    "--numeric-owner",
    "--same-owner",
    "--preserve-permissions",
    "--xattrs",
    "--xattrs-include=*",
    "--acls",
  ];
}

export async function fetchAndExtract(
  url: string,
  sha256: string,
  scratch: string,
  rootfs: string,
  options: { signal?: AbortSignal; onProgress?: DownloadProgress } = {},
): Promise<void> {
  try {
    const actual = await download(url, scratch, options);
    const mismatch = checksumError(sha256, actual);
    if (mismatch) throw mismatch;
    await run("tar", extractArgs(scratch, rootfs), options.signal ? { signal: options.signal } : {});
  } finally {
    await rm(scratch, { force: true });
  }
}
