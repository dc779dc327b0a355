import type { Logger } from "pino";
import type { BuildResult } from "../api/schema.js";
import type { Artifact } from "../plan/artifact.js";
import type { BuildPlan } from "../plan/plan.js";
import type { Progress } from "../util/progress.js";

export interface PublishContext {
  plan: BuildPlan;
  artifacts: Artifact[];
  /** Directory holding the projected Secret's keys as files (see BuildPlan.secrets). */
  secretsDir: string;
  /** Where publish.volume's claim is mounted in the Pod; locally, the output directory. */
  volumeRoot: string;
  /** Unix seconds of the build's start; stable across retries of the same build. */
  timestamp: number;
  log: Logger;
  progress: Progress;
  signal?: AbortSignal;
}

/** One publish target. Publishing again after a crash must not duplicate what was published. */
export interface Publisher {
  readonly target: "volume" | "s3" | "oci" | "aws";
  publish(ctx: PublishContext): Promise<BuildResult>;
}
