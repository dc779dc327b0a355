// What the current build is doing, decided from the observed Job and Pods and, once those are
// gone, from what status recorded. Pure: the sync hook turns the state into status and children.
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { PHASE, type Stage } from "../api/constants.js";
import { buildResultSchema, type BuildResult } from "../api/schema.js";
import type { RecordedStatus } from "../api/status-entries.js";
import type { Redact } from "../plan/redact.js";
import type { PodLayout } from "../plan/stage-table.js";
import {
  jobOutcome,
  podFailure,
  podStage,
  successMessage,
  summarizeMessage,
  timeString,
  type ContainerFailure,
} from "./observe.js";

export type BuildState =
  | { kind: "pending" }
  | { kind: "running"; stage: Stage | undefined; lastFailure?: string }
  | { kind: "awaiting-result"; completionTime: string | undefined }
  | { kind: "succeeded"; result: BuildResult; completionTime: string | undefined; message?: string }
  | { kind: "failed"; stage: Stage | undefined; message: string; completionTime: string | undefined }
  | { kind: "lost" }
  | { kind: "recorded" };

/** How long after the Job completed we wait for its Pod to show up with the result. */
export const RESULT_GRACE_SECONDS = 300;

export interface ObservedBuild {
  job: V1Job | undefined;
  pods: V1Pod[];
  previous: RecordedStatus;
  buildId: string;
  timeoutSeconds: number;
  /** The build Pod's containers, from the stage table. */
  layout: PodLayout;
  now: Date;
  /** Hides the build's Secret values in container messages before they reach status. */
  redact: Redact;
}

export function isFinished(status: RecordedStatus, buildId: string): boolean {
  return status.buildId === buildId && (status.phase === PHASE.Succeeded || status.phase === PHASE.Failed);
}

function wasStarted(status: RecordedStatus, buildId: string): boolean {
  return status.buildId === buildId && status.phase === PHASE.Building;
}

export function buildState(o: ObservedBuild): BuildState {
  if (!o.job) {
    // A finished build keeps its recorded outcome; one that was running and whose Job vanished is
    // not started again behind the user's back.
    if (isFinished(o.previous, o.buildId)) return { kind: "recorded" };
    if (wasStarted(o.previous, o.buildId)) return { kind: "lost" };
    return { kind: "pending" };
  }
  const outcome = jobOutcome(o.job);
  if (outcome.outcome === "Complete") return completed(o, outcome.time);
  if (outcome.outcome === "Failed") return failed(o, outcome);
  const current = o.pods.at(-1);
  const lastFailure = o.pods
    .slice(0, -1)
    .map((pod) => podFailure(pod, o.layout))
    .filter((f) => f !== undefined)
    .at(-1);
  return {
    kind: "running",
    stage: current ? podStage(current, o.layout) : undefined,
    ...(lastFailure ? { lastFailure: failureText(lastFailure, o.redact) } : {}),
  };
}

function completed(o: ObservedBuild, time: string | undefined): BuildState {
  const completionTime = timeString(o.job?.status?.completionTime) ?? time;
  for (const pod of [...o.pods].reverse()) {
    const message = successMessage(pod, o.layout.main.name);
    if (message === undefined) continue;
    const parsed = parseResult(message);
    return parsed.ok
      ? { kind: "succeeded", result: parsed.result, completionTime }
      : {
          kind: "succeeded",
          result: { artifacts: [], images: [] },
          completionTime,
          message: `build succeeded, but its result could not be read: ${parsed.error}`,
        };
  }
  const age = completionTime ? (o.now.getTime() - Date.parse(completionTime)) / 1000 : Infinity;
  if (age < RESULT_GRACE_SECONDS) return { kind: "awaiting-result", completionTime };
  return {
    kind: "succeeded",
    result: { artifacts: [], images: [] },
    completionTime,
    message: "build succeeded, but its Pod is gone and with it the result",
  };
}

function failed(o: ObservedBuild, outcome: ReturnType<typeof jobOutcome>): BuildState {
  const failures = o.pods.map((pod) => podFailure(pod, o.layout)).filter((f) => f !== undefined);
  const last = failures.at(-1);
  const stage = last?.stage ?? o.pods.map((pod) => podStage(pod, o.layout)).at(-1) ?? o.previous.stage;
  let message: string;
  if (outcome.reason === "DeadlineExceeded") {
    message = `build did not finish within spec.builder.timeoutSeconds (${o.timeoutSeconds}s)${stage ? ` (at stage ${stage})` : ""}`;
  } else if (last) {
    message = failureText(last, o.redact);
  } else {
    message = outcome.message ?? "build failed";
  }
  return { kind: "failed", stage, message, completionTime: outcome.time };
}

/** Redacted before it is cut to size, so that no part of a secret survives at the cut. */
function failureText(f: ContainerFailure, redact: Redact): string {
  return (
    summarizeMessage(f.message === undefined ? undefined : redact(f.message)) ??
    `${f.stage ?? f.container}: container ${f.container} exited with ${f.exitCode}${f.reason ? ` (${f.reason})` : ""}`
  );
}

export function parseResult(
  message: string,
): { ok: true; result: BuildResult } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, error: "the termination message is not JSON" };
  }
  const parsed = buildResultSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join(".") || "result"}: ${issue?.message ?? "invalid"}` };
  }
  return { ok: true, result: parsed.data };
}
