// Runs a whole build on this machine, as root, over a workspace laid out like the build Pod's.
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino, type Logger } from "pino";
import type { BuildPlan } from "../plan/plan.js";
import type { BuildOutput } from "../publish/build-output.js";
import type { Progress } from "../util/progress.js";
import { readPlanDir } from "./plan-dir.js";
import { localLayout, missingReferences, prepareLayout, type ManifestSet } from "./local.js";
import { loadRedactor } from "./secret-redactor.js";
import {
  redactedError,
  runSteps,
  workspaceSweep,
  type RunnerEvents,
  type RunnerStep,
  type RunOutcome,
} from "./runner.js";
import { buildSteps } from "./steps.js";
import { scratchDir } from "./stages/provision.js";
import { localPublishStep } from "./stages/publish.js";
import { readChecksSummary, type ChecksSummary } from "./stages/validate.js";

export interface LocalBuildOptions {
  output: string;
  /** Cache directory; absent: no cache is read or written (`--no-cache`). */
  cache?: string;
  /** Directory for the Pod-like layout; default /var/tmp/bib-<buildName> (disk, not tmpfs). */
  workspace?: string;
  keepWorkspace: boolean;
  signal: AbortSignal;
  /** Build start, Unix seconds. */
  timestamp: number;
}

export function defaultCacheDir(): string {
  return process.getuid?.() === 0 ? "/var/cache/bib" : path.join(os.homedir(), ".cache", "bib");
}

export interface LocalBuildResult extends RunOutcome {
  output?: BuildOutput;
  /** What spec.validate.boot.checks reported in the test VM. */
  checks?: ChecksSummary;
  logFile: string;
}

export async function runLocalBuild(
  plan: BuildPlan,
  manifests: ManifestSet,
  options: LocalBuildOptions,
  ui: (steps: readonly RunnerStep[]) => RunnerEvents & Progress,
): Promise<LocalBuildResult> {
  const missing = missingReferences(plan, manifests);
  if (missing.length > 0) throw new Error(missing.join("\n"));
  const layout = localLayout(
    path.resolve(options.workspace ?? path.join("/var/tmp", `bib-${plan.buildName}`)),
  );
  await prepareLayout(layout, plan, manifests);
  await mkdir(options.output, { recursive: true });
  if (options.cache) await mkdir(options.cache, { recursive: true });
  const logFile = path.join(options.output, `${plan.buildName}.log`);
  const redact = await loadRedactor(layout.secretsDir);
  const log: Logger = pino(
    {
      base: { buildId: plan.buildId },
      redact: ["secret", "*.secret", "credentials"],
      hooks: { streamWrite: redact },
    },
    pino.destination({ dest: logFile, sync: true }),
  );
  // The stages read the plan back from the plan directory, exactly as the Pod does.
  const stagePlan = await readPlanDir(layout.planDir);
  let output: BuildOutput | undefined;
  const steps = buildSteps(
    stagePlan,
    localPublishStep(options.output, (o) => (output = o)),
  );
  const events = ui(steps);
  const ctx = {
    plan: stagePlan,
    planDir: layout.planDir,
    workspace: layout.workspace,
    secretsDir: layout.secretsDir,
    configMapsDir: layout.configMapsDir,
    ...(options.cache ? { cacheDir: options.cache } : {}),
    volumeRoot: options.output,
    timestamp: options.timestamp,
    log,
    progress: events,
    signal: options.signal,
  };
  const sweep = workspaceSweep(layout.workspace, [scratchDir(layout.workspace)]);
  const outcome = await runSteps(steps, ctx, events, sweep);
  const checks = await readChecksSummary(layout.workspace);
  if (!options.keepWorkspace) {
    await rm(layout.root, { recursive: true, force: true }).catch((e: unknown) =>
      log.warn({ error: (e as Error).message }, "could not remove the workspace"),
    );
  }
  const error = outcome.error && redactedError(outcome.error, redact);
  return {
    ...outcome,
    ...(error ? { error } : {}),
    ...(output ? { output } : {}),
    ...(checks ? { checks } : {}),
    logFile,
  };
}
