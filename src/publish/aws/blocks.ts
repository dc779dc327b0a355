// Pure helpers for the EBS direct APIs: the fixed block size, zero-block detection and the two
// checksums EBS verifies (per block, and LINEAR over the whole snapshot).
import { createHash } from "node:crypto";

/** EBS direct APIs accept exactly this block size, and only this one. */
export const EBS_BLOCK_SIZE = 524_288;
export const GIB = 2 ** 30;

/** StartSnapshot's VolumeSize is whole GiB; a disk is rounded up so every byte fits. */
export function volumeSizeGiB(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / GIB));
}

export function blockCount(bytes: number): number {
  return Math.ceil(bytes / EBS_BLOCK_SIZE);
}

const ZEROS = Buffer.alloc(EBS_BLOCK_SIZE);

/**
 * True when every byte is zero. A block that was never written reads back as zeros from a
 * snapshot, so such blocks are not sent (they would only cost requests and money). Compared with
 * memcmp against a zero buffer: a JS loop over a 512 KiB block costs milliseconds.
 */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let at = 0; at < block.byteLength; at += ZEROS.length) {
    const part = block.subarray(at, Math.min(block.byteLength, at + ZEROS.length));
    if (Buffer.compare(part, ZEROS.subarray(0, part.byteLength)) !== 0) return false;
  }
  return true;
}

export function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/**
 * CompleteSnapshot's checksum with ChecksumAggregationMethod LINEAR: SHA-256 over the concatenation
 * of the per-block SHA-256 digests in ascending block index order, base64.
 */
export function linearChecksum(digestsInIndexOrder: Iterable<Uint8Array>): string {
  const hash = createHash("sha256");
  for (const digest of digestsInIndexOrder) hash.update(digest);
  return hash.digest("base64");
}

/** Block indexes (ascending, unique) that overlap any of the byte ranges, clipped to `size`. */
export function* blocksInRanges(
  ranges: Iterable<{ start: number; length: number }>,
  size: number,
): Generator<number> {
  let next = 0;
  for (const { start, length } of ranges) {
    if (length <= 0) continue;
    const end = Math.min(start + length, size);
    const first = Math.max(next, Math.floor(start / EBS_BLOCK_SIZE));
    const last = Math.ceil(end / EBS_BLOCK_SIZE);
    for (let i = first; i < last; i++) yield i;
    next = Math.max(next, last);
  }
}
