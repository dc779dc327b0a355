// BuildState -> ImageBuild status (phase, stage, message, conditions). Pure.
import {
  CONDITION,
  PHASE,
  REASON,
  STAGES,
  type ConditionReason,
  type Phase,
  type Stage,
} from "../api/constants.js";
import type { BuildResult } from "../api/schema.js";
import { readArtifacts, readImages, type ReadEntry, type RecordedStatus } from "../api/status-entries.js";
import type { BuildPlan } from "../plan/plan.js";
import { stagesOfCondition } from "../plan/stage-table.js";
import type { BuildState } from "./build-state.js";
import type { ConditionInput } from "./conditions.js";

export interface StatusParts {
  phase: Phase;
  stage?: Stage;
  message: string;
  conditions: ConditionInput[];
  result?: BuildResult;
  completionTime?: string;
}

const before = (a: Stage, b: Stage) => STAGES.indexOf(a) < STAGES.indexOf(b);

interface Progress {
  /** The furthest stage reached: every stage before it succeeded. */
  at: Stage | undefined;
  failed: boolean;
  done: boolean;
}

/** A condition reports the stages the stage table maps to it (Built: base, provision, package). */
function stageCondition(
  type: ConditionInput["type"],
  p: Progress,
  done: { reason: ConditionReason; message: string },
  failReason: ConditionReason,
): ConditionInput {
  const covered = stagesOfCondition(type);
  const stage = covered.at(-1)!;
  if (p.done || (p.at && before(stage, p.at))) return { type, status: "True", ...done };
  const failedHere = p.failed && p.at && covered.includes(p.at);
  if (failedHere)
    return { type, status: "False", reason: failReason, message: `the build failed at ${p.at}` };
  return {
    type,
    status: "Unknown",
    reason: p.failed ? REASON.NotReached : REASON.InProgress,
    message: p.failed ? `the build stopped before ${stage}` : `${stage} has not finished`,
  };
}

function stageConditions(plan: BuildPlan, p: Progress): ConditionInput[] {
  const built = stageCondition(
    CONDITION.Built,
    p,
    { reason: REASON.Built, message: `artifacts: ${plan.formats.join(", ")}` },
    REASON.BuildFailed,
  );
  const boot = plan.validate.boot;
  const validated = boot.enabled
    ? stageCondition(
        CONDITION.Validated,
        p,
        {
          reason: REASON.Booted,
          message: `the image booted and showed: ${boot.expect.join(", ")}${
            boot.checks.length ? `; ${boot.checks.length}/${boot.checks.length} checks passed` : ""
          }`,
        },
        REASON.BootFailed,
      )
    : {
        type: CONDITION.Validated,
        status: "False" as const,
        reason: REASON.Disabled,
        message: "boot validation is disabled (spec.validate.boot.enabled: false)",
      };
  const targets = Object.keys(plan.publish);
  const published = stageCondition(
    CONDITION.Published,
    p,
    targets.length
      ? { reason: REASON.Published, message: `published to ${targets.join(", ")}` }
      : { reason: REASON.NoTargets, message: "spec.publish names no targets" },
    REASON.PublishFailed,
  );
  return [built, validated, published];
}

export function statusParts(plan: BuildPlan, state: BuildState): StatusParts | undefined {
  switch (state.kind) {
    case "pending":
      return {
        phase: PHASE.Pending,
        message: "waiting for the build Job to start",
        conditions: [
          ...stageConditions(plan, { at: undefined, failed: false, done: false }),
          ready(false, REASON.Pending),
        ],
      };
    case "running":
    case "awaiting-result": {
      const stage = state.kind === "running" ? (state.stage ?? "base") : "publish";
      const retrying =
        state.kind === "running" && state.lastFailure ? ` (retrying after: ${state.lastFailure})` : "";
      return {
        phase: PHASE.Building,
        stage,
        message: `building: ${stage}${retrying}`,
        conditions: [
          ...stageConditions(plan, { at: stage, failed: false, done: false }),
          ready(false, REASON.Building),
        ],
      };
    }
    case "succeeded":
      return {
        phase: PHASE.Succeeded,
        message: state.message ?? summary(state.result),
        conditions: [
          ...stageConditions(plan, { at: undefined, failed: false, done: true }),
          ready(true, REASON.Succeeded),
        ],
        result: state.result,
        ...(state.completionTime ? { completionTime: state.completionTime } : {}),
      };
    case "failed":
      return {
        phase: PHASE.Failed,
        ...(state.stage ? { stage: state.stage } : {}),
        message: state.message,
        conditions: [
          ...stageConditions(plan, { at: state.stage ?? "base", failed: true, done: false }),
          ready(false, REASON.BuildFailed, state.message),
        ],
        ...(state.completionTime ? { completionTime: state.completionTime } : {}),
      };
    case "lost": {
      const message =
        "the build Job was deleted before the build finished; set the bib.dev/rebuild annotation to build again";
      return {
        phase: PHASE.Failed,
        message,
        conditions: [
          ...stageConditions(plan, { at: "base", failed: true, done: false }),
          ready(false, REASON.JobDeleted, message),
        ],
      };
    }
    case "recorded":
      return undefined;
  }
}

function ready(ok: boolean, reason: ConditionReason, message?: string): ConditionInput {
  return {
    type: CONDITION.Ready,
    status: ok ? "True" : "False",
    reason,
    message: message ?? (ok ? "the image is built and published" : "the image is not ready"),
  };
}

function summary(result: BuildResult): string {
  const first = result.images[0]?.imageId ?? result.images[0]?.name ?? result.artifacts[0]?.location;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `built ${plural(result.artifacts.length, "artifact")} and ${plural(result.images.length, "image")}${first ? `; first: ${first}` : ""}`;
}

/**
 * This build's outputs first, then earlier builds' (kept so that cleanup on Delete finds them), then
 * the entries this version cannot read, verbatim: they may name published images, and a result this
 * version parsed never holds them.
 */
export function mergeOutputs(
  buildId: string,
  result: BuildResult | undefined,
  previous: RecordedStatus,
): { artifacts: unknown[]; images: unknown[] } {
  // Entries written before outputs carried their own buildId belong to the build status names.
  const ownerOf = (e: { buildId?: string | undefined }) => e.buildId ?? previous.buildId;
  // Readable entries are written back as they were (fields a newer version added included).
  const merge = <T extends { buildId?: string | undefined }>(
    recorded: Array<ReadEntry<T>>,
    own: T[] | undefined,
  ) => {
    const read = recorded.flatMap((e) => (e.value ? [{ ...(e.raw as T), buildId: ownerOf(e.value) }] : []));
    return [
      ...(own ? own.map((e) => ({ ...e, buildId })) : read.filter((e) => e.buildId === buildId)),
      ...read.filter((e) => e.buildId !== buildId),
      ...recorded.filter((e) => !e.value).map((e) => e.raw),
    ];
  };
  return {
    artifacts: merge(readArtifacts(previous.artifacts), result?.artifacts),
    images: merge(readImages(previous.images), result?.images),
  };
}
