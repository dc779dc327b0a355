// A tarball base: downloaded (http, https or file://) into the workspace, its sha256 checked
// BEFORE anything is extracted, then unpacked with owners, modes and extended attributes kept.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { run } from "../../util/exec.js";

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
  const hash = createHash("sha256");
  let done = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      done += chunk.length;
      options.onProgress?.(done, total);
      callback(null, chunk);
    },
  });
  await pipeline(stream, meter, createWriteStream(dest), options.signal ? { signal: options.signal } : {});
  return hash.digest("hex");
}

export function checksumError(expected: string, actual: string): Error | undefined {
  if (expected.toLowerCase() === actual.toLowerCase()) return undefined;
  return new Error(
    `spec.base.tarball.sha256 does not match the download: expected ${expected}, got ${actual}`,
  );
}

/** GNU tar detects the compression (gzip, xz, zstd, bzip2) from the file's contents. */
export function extractArgs(archive: string, rootfs: string): string[] {
  return [
    "--extract",
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
