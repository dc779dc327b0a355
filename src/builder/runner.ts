// The stage runner: runs an ordered list of steps, times and logs each one, and always cleans up.
// A failure becomes ONE error naming the API stage and the step; cleanup runs on success, failure
// and abort (SIGTERM), newest step first, then a last sweep of the kernel's mount table.
import { rm } from "node:fs/promises";
import type { Stage } from "../api/constants.js";
import { StepError, type StageContext, type Step } from "./stage.js";
import { unmountEverythingUnder } from "./chroot/mounts.js";

/** A step that may leave something behind (mounts, stand-ins) and knows how to undo it. */
export interface RunnerStep extends Step {
  /** Runs after the whole list ends, also when this or a later step failed; must be idempotent. */
  cleanup?(ctx: StageContext): Promise<void>;
}

export type Outcome = "ok" | "cached" | "failed" | "skipped";

export interface StepTiming {
  stage: Stage;
  step: string;
  seconds: number;
  outcome: Outcome;
}

export interface RunnerEvents {
  onStepStart?(step: RunnerStep, index: number): void;
  onStepEnd?(timing: StepTiming, index: number): void;
}

/** The step's failure: a StepError as it was thrown (it names its stage and step), else wrapped. */
function stepFailure(step: Step, cause: unknown): StepError {
  if (cause instanceof StepError) return cause;
  return new StepError(step.stage, step.name, causeMessage(cause), { cause });
}

function causeMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** The same failure with secret values taken out of its message; the cause, which holds them, is dropped. */
export function redactedError(error: StepError, redact: (text: string) => string): StepError {
  const [step, detail] = [redact(error.step), redact(error.detail)];
  return step === error.step && detail === error.detail ? error : new StepError(error.stage, step, detail);
}

export interface RunOutcome {
  timings: StepTiming[];
  error?: StepError;
}

export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return typeof reason === "string" ? reason : reason instanceof Error ? reason.message : "aborted";
}

/** Builds the sweep run after every list of steps: nothing mounted or half-written stays behind. */
export function workspaceSweep(workspace: string, scratchDirs: readonly string[]): () => Promise<void> {
  return async () => {
    const left = await unmountEverythingUnder(workspace);
    for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`still mounted: ${left.join(", ")}`);
  };
}

export async function runSteps(
  steps: readonly RunnerStep[],
  ctx: StageContext,
  events: RunnerEvents = {},
  sweep?: () => Promise<void>,
): Promise<RunOutcome> {
  const timings: StepTiming[] = [];
  const started: RunnerStep[] = [];
  let error: StepError | undefined;

  for (const [index, step] of steps.entries()) {
    if (error) {
      timings.push({ stage: step.stage, step: step.name, seconds: 0, outcome: "skipped" });
      continue;
    }
    if (ctx.signal.aborted) {
      error = new StepError(step.stage, step.name, abortReason(ctx.signal));
      timings.push({ stage: step.stage, step: step.name, seconds: 0, outcome: "skipped" });
      continue;
    }
    events.onStepStart?.(step, index);
    ctx.log.info({ stage: step.stage, step: step.name, event: "start" }, `${step.stage}: ${step.name}`);
    started.push(step);
    const begin = performance.now();
    let outcome: Outcome = "ok";
    try {
      if ((await step.run(ctx)) === "cached") outcome = "cached";
      if (ctx.signal.aborted) throw new Error(abortReason(ctx.signal));
    } catch (cause) {
      outcome = "failed";
      error = ctx.signal.aborted
        ? new StepError(step.stage, step.name, abortReason(ctx.signal), { cause })
        : stepFailure(step, cause);
    }
    const seconds = (performance.now() - begin) / 1000;
    const timing = { stage: step.stage, step: step.name, seconds, outcome };
    timings.push(timing);
    ctx.log[outcome === "failed" ? "error" : "info"](
      {
        stage: step.stage,
        step: step.name,
        event: "end",
        outcome,
        seconds: Number(seconds.toFixed(2)),
        ...(error && outcome === "failed" ? { error: error.message } : {}),
      },
      `${step.stage}: ${step.name}: ${outcome} in ${seconds.toFixed(1)} s`,
    );
    events.onStepEnd?.(timing, index);
  }

  const cleanupErrors: string[] = [];
  for (const step of started.reverse()) {
    try {
      await step.cleanup?.(ctx);
    } catch (cause) {
      cleanupErrors.push(`${step.name}: ${causeMessage(cause)}`);
    }
  }
  try {
    await sweep?.();
  } catch (cause) {
    cleanupErrors.push(causeMessage(cause));
  }
  if (cleanupErrors.length > 0) {
    ctx.log.error({ event: "cleanup", errors: cleanupErrors }, "cleanup failed");
    const last = timings.at(-1);
    error ??= new StepError(last?.stage ?? "base", "cleanup", cleanupErrors.join("; "));
  }
  return error ? { timings, error } : { timings };
}

/** The timing table: one row per step, seconds with one decimal. */
export function timingTable(timings: readonly StepTiming[]): string {
  const rows = timings.map((t) => [t.stage, t.step, t.outcome, t.seconds.toFixed(1)]);
  const header = ["stage", "step", "outcome", "seconds"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const total = timings.reduce((sum, t) => sum + t.seconds, 0);
  return [line(header), ...rows.map(line), line(["", "total", "", total.toFixed(1)])].join("\n");
}
