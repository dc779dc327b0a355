// Stage `publish`: hands the packaged artifacts to the publishers (src/publish) and reports the
// result: in the Pod as the termination message, locally as <output>/build.json beside the
// artifact files, which appear under their final names only once everything else succeeded.
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { publishAll } from "../../publish/index.js";
import { atomicCopy } from "../../publish/volume.js";
import { writeBuildOutput, type BuildOutput } from "../../publish/build-output.js";
import type { Artifact } from "../../plan/artifact.js";
import type { RunnerStep } from "../runner.js";
import type { StageContext } from "../stage.js";
import { terminationMessage } from "../termination.js";
import { readArtifactsState } from "../artifacts-state.js";

function publishContext(ctx: StageContext, artifacts: Artifact[]) {
  return {
    plan: ctx.plan,
    artifacts,
    secretsDir: ctx.secretsDir,
    volumeRoot: ctx.volumeRoot,
    timestamp: ctx.timestamp,
    log: ctx.log,
    progress: ctx.progress,
    signal: ctx.signal,
  };
}

/** In the build Pod: publish, then write the compact result where the kubelet reads it. */
export function podPublishStep(terminationLog: string): RunnerStep {
  return {
    name: "publish",
    stage: "publish",
    async run(ctx) {
      const result = await publishAll(publishContext(ctx, await readArtifactsState(ctx.workspace)), {
        location: "pvc",
      });
      const message = terminationMessage(result);
      if (message.length < JSON.stringify(result).length)
        ctx.log.warn("build result shortened to fit the termination message");
      await writeFile(terminationLog, message);
    },
  };
}

/** A rename, or a copy when the output directory is on another file system than the workspace. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await atomicCopy(from, to);
  }
}

/** Locally: artifacts moved into the output directory, publishers run, build.json written last. */
export function localPublishStep(outputDir: string, onDone?: (output: BuildOutput) => void): RunnerStep {
  return {
    name: "publish",
    stage: "publish",
    async run(ctx) {
      await mkdir(outputDir, { recursive: true });
      const packaged = await readArtifactsState(ctx.workspace);
      const moved: Artifact[] = [];
      try {
        for (const a of packaged) {
          const dest = path.join(path.resolve(outputDir), path.basename(a.path));
          await moveFile(a.path, dest);
          moved.push({ ...a, path: dest, size: (await stat(dest)).size });
        }
        const result = await publishAll(publishContext(ctx, moved), { location: "file" });
        const output: BuildOutput = {
          buildId: ctx.plan.buildId,
          buildName: ctx.plan.buildName,
          timestamp: ctx.timestamp,
          artifacts: moved.map((a) => ({
            format: a.format,
            file: path.basename(a.path),
            size: a.size,
            sha256: a.sha256,
          })),
          result,
        };
        await writeBuildOutput(outputDir, output);
        onDone?.(output);
      } catch (error) {
        // A failed publish leaves no artifact in the output that looks finished.
        for (const a of moved) await rm(a.path, { force: true });
        throw error;
      }
    },
  };
}
