import path from "node:path";
import type { Logger } from "pino";
import type { Stage } from "../api/constants.js";
import type { BuildPlan } from "../plan/plan.js";
import type { Progress } from "../util/progress.js";

/** Everything a stage may use; the same for `bib build` on one machine and for the build Pod. */
export interface StageContext {
  plan: BuildPlan;
  /** `plan.json` and the asset files beside it. */
  planDir: string;
  /** Holds `rootfs/`, `artifacts/` and `state/` (see `workspacePaths`). */
  workspace: string;
  secretsDir: string;
  /** ConfigMaps referenced by the spec, one directory per ConfigMap, one file per key. */
  configMapsDir: string;
  /** Cache shared across builds (apt archives, cached trees); absent when caching is off. */
  cacheDir?: string;
  /** Size bound of the cached trees under cacheDir (default: DEFAULT_TREE_CACHE_BYTES). */
  treeCacheMaxBytes?: number;
  /** Where publish.volume's claim is mounted; locally, the output directory. */
  volumeRoot: string;
  /** Unix seconds of the build's start, stable across retries. */
  timestamp: number;
  log: Logger;
  progress: Progress;
  signal: AbortSignal;
}

/**
 * The build's timestamp from BUILD_TIMESTAMP, which the build Job sets once for all its retries
 * (src/hooks/children/job.ts); unset (a local build): now.
 */
export function buildTimestamp(env: NodeJS.ProcessEnv, now: () => number = Date.now): number {
  const raw = env.BUILD_TIMESTAMP;
  if (raw === undefined || raw === "") return Math.floor(now() / 1000);
  if (!/^\d+$/.test(raw)) throw new Error(`BUILD_TIMESTAMP must be Unix seconds, got "${raw}"`);
  return Number(raw);
}

/**
 * A failure that names its API stage and its step as data: the runner keeps them as they are, and
 * the message is always `stage: step: detail` (the last line of a failed container's log).
 */
export class StepError extends Error {
  override name = "StepError";
  constructor(
    readonly stage: Stage,
    readonly step: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${stage}: ${step}: ${detail}`, options);
  }
}

/** One internal step of the build, reported under one of the API's five stages. */
export interface Step {
  name: string;
  stage: Stage;
  /** Resolves "cached" when the tree restored from the cache already holds this step's result. */
  run(ctx: StageContext): Promise<void | "cached">;
}

export function workspacePaths(workspace: string) {
  return {
    rootfs: path.join(workspace, "rootfs"),
    artifacts: path.join(workspace, "artifacts"),
    state: path.join(workspace, "state"),
  };
}
