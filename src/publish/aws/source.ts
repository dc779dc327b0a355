// The bytes an AMI is made from: a raw disk image, and where in it there is data. A qcow2 (or
// other) artifact is first converted to a sparse raw file, so reading is one code path.
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Artifact } from "../../plan/artifact.js";
import { run } from "../../util/exec.js";

export interface ByteRange {
  start: number;
  length: number;
}

export interface RawSource {
  path: string;
  size: number;
  /** Ranges that may hold non-zero bytes, ascending; everything else reads as zeros. */
  dataRanges: ByteRange[];
  /** Removes a temporary conversion, if one was made. */
  dispose(): Promise<void>;
}

interface MapEntry {
  start: number;
  length: number;
  data: boolean;
  zero: boolean;
}

/**
 * Data extents from `qemu-img map --output=json`, which asks the file system (SEEK_DATA/SEEK_HOLE)
 * for a raw file: an 8 GiB sparse image holding 1 GiB is then read as about 1 GiB.
 */
export function parseQemuImgMap(json: string): ByteRange[] {
  const entries = JSON.parse(json) as MapEntry[];
  const ranges: ByteRange[] = [];
  for (const e of entries) {
    if (!e.data || e.zero) continue;
    const last = ranges.at(-1);
    if (last && last.start + last.length === e.start) last.length += e.length;
    else ranges.push({ start: e.start, length: e.length });
  }
  return ranges;
}

/** The artifact to build an AMI from: raw when the build made one, else the first disk format. */
export function pickDiskArtifact(artifacts: Artifact[]): Artifact | undefined {
  return (
    artifacts.find((a) => a.format === "raw") ??
    artifacts.find((a) => a.format === "qcow2") ??
    artifacts.find((a) => a.format === "vmdk" || a.format === "vhd")
  );
}

const QEMU_FORMAT: Record<string, string> = { raw: "raw", qcow2: "qcow2", vmdk: "vmdk", vhd: "vpc" };

export async function openRawSource(artifact: Artifact, signal?: AbortSignal): Promise<RawSource> {
  let rawPath = artifact.path;
  let temporary = false;
  if (artifact.format !== "raw") {
    // Next to the artifact, not in /tmp: the workspace volume is sized for disk images, /tmp may not be.
    rawPath = path.join(path.dirname(artifact.path), `.${path.basename(artifact.path)}.ami.raw`);
    temporary = true;
    await run(
      "qemu-img",
      ["convert", "-f", QEMU_FORMAT[artifact.format] ?? artifact.format, "-O", "raw", artifact.path, rawPath],
      { signal },
    );
  }
  const dispose = async () => {
    if (temporary) await rm(rawPath, { force: true });
  };
  try {
    const size = (await stat(rawPath)).size;
    const { stdout } = await run("qemu-img", ["map", "--output=json", "-f", "raw", rawPath], { signal });
    return { path: rawPath, size, dataRanges: parseQemuImgMap(stdout), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
