// Shared fixtures for publisher tests: a plan from a spec, a context, sparse disk images.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { Artifact } from "../../src/plan/artifact.js";
import { resolvePlan, type BuildPlan } from "../../src/plan/plan.js";
import type { PublishContext } from "../../src/publish/types.js";
import type { Progress } from "../../src/util/progress.js";

export function planWith(
  publish: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  name = "golden",
): BuildPlan {
  const result = resolvePlan({
    metadata: { name, namespace: "images" },
    spec: {
      base: { image: "debian:bookworm" },
      formats: ["raw", "qcow2"],
      validate: { boot: { enabled: false } },
      publish,
      ...extra,
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

export class RecordingProgress implements Progress {
  updates: Array<{ task: string; done: number; total: number; unit: string }> = [];
  update(task: string, done: number, total: number, unit: "bytes" | "blocks"): void {
    this.updates.push({ task, done, total, unit });
  }
}

export function contextFor(
  plan: BuildPlan,
  artifacts: Artifact[],
  dirs: { secretsDir: string; volumeRoot: string },
  signal?: AbortSignal,
): PublishContext {
  return {
    plan,
    artifacts,
    secretsDir: dirs.secretsDir,
    volumeRoot: dirs.volumeRoot,
    timestamp: 1_763_900_000,
    log: pino({ level: "silent" }),
    progress: new RecordingProgress(),
    ...(signal ? { signal } : {}),
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `bib-${prefix}-`));
}

export async function sha256File(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

/**
 * A sparse raw image of `size` bytes with random data in `extents` scattered extents of
 * `extentBytes` each (not aligned to 512 KiB on purpose).
 */
export async function sparseImage(
  file: string,
  size: number,
  extents: number,
  extentBytes: number,
): Promise<number> {
  const fh = await open(file, "w");
  let data = 0;
  try {
    await fh.truncate(size);
    for (let i = 0; i < extents; i++) {
      const offset =
        Math.floor(((i + 0.5) / extents) * (size - extentBytes - 65536)) + ((4097 * (i + 1)) % 65536);
      const chunk = randomBytes(extentBytes);
      await fh.write(chunk, 0, chunk.length, offset);
      data += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return data;
}

export async function artifactFor(file: string, format: Artifact["format"]): Promise<Artifact> {
  const { size } = await stat(file);
  return { format, path: file, size, sha256: await sha256File(file) };
}

export async function writeSecrets(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(files)) await writeFile(path.join(dir, name), value);
}
