// Live progress of `bib build`: on a terminal, the step list redrawn in place (✓ done, ▶ running
// with seconds and percentage, · pending); otherwise one plain line per event, for CI logs.
import type { Progress } from "../util/progress.js";
import type { Outcome, RunnerEvents, RunnerStep, StepTiming } from "../builder/runner.js";

interface Row {
  stage: string;
  step: string;
  state: "pending" | "running" | Outcome;
  seconds?: number;
  started?: number;
}

export function percent(done: number, total: number): string {
  if (total <= 0) return "";
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

const MARK: Record<Row["state"], string> = {
  pending: "·",
  running: "▶",
  ok: "✓",
  cached: "≡",
  failed: "✗",
  skipped: "-",
};

export function renderRows(rows: readonly Row[], now: number, task?: string): string[] {
  const stageWidth = Math.max(...rows.map((r) => r.stage.length));
  const stepWidth = Math.max(...rows.map((r) => r.step.length));
  return rows.map((r) => {
    const seconds = r.state === "running" && r.started !== undefined ? (now - r.started) / 1000 : r.seconds;
    const time = seconds === undefined ? "" : `${seconds.toFixed(1)}s`.padStart(8);
    const extra = r.state === "running" && task ? `  ${task}` : "";
    return `${MARK[r.state]} ${r.stage.padEnd(stageWidth)}  ${r.step.padEnd(stepWidth)}${time}${extra}`;
  });
}

export class ProgressDisplay implements Progress, RunnerEvents {
  private readonly rows: Row[];
  private task: string | undefined;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Without a terminal: one line per 10 % step, so that a CI log stays short. */
  private readonly plain: Progress;

  constructor(
    steps: readonly RunnerStep[],
    private readonly out: NodeJS.WriteStream,
    private readonly tty = Boolean(out.isTTY),
  ) {
    this.rows = steps.map((s) => ({ stage: s.stage, step: s.name, state: "pending" }));
    this.plain = logProgress((message) => out.write(`  ${message}\n`));
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
      this.draw();
    }
  }

  onStepStart(step: RunnerStep, index: number): void {
    const row = this.rows[index]!;
    row.state = "running";
    row.started = Date.now();
    this.task = undefined;
    if (this.tty) this.draw();
    else this.out.write(`${step.stage}: ${step.name} ...\n`);
  }

  onStepEnd(timing: StepTiming, index: number): void {
    const row = this.rows[index]!;
    row.state = timing.outcome;
    row.seconds = timing.seconds;
    this.task = undefined;
    if (this.tty) this.draw();
    else
      this.out.write(`${timing.stage}: ${timing.step}: ${timing.outcome} (${timing.seconds.toFixed(1)} s)\n`);
  }

  update(task: string, done: number, total: number, unit: "bytes" | "blocks"): void {
    const pct = percent(done, total);
    const amount = unit === "bytes" ? `${(done / 2 ** 20).toFixed(0)} MiB` : `${done}`;
    this.task = `${task} ${pct || amount}`;
    if (!this.tty) this.plain.update(task, done, total, unit);
  }

  /** Marks steps never reached (after a failure) and stops redrawing. */
  finish(timings: readonly StepTiming[]): void {
    timings.forEach((t, i) => {
      const row = this.rows[i];
      if (row && row.state === "pending") row.state = t.outcome;
    });
    if (this.timer) clearInterval(this.timer);
    if (this.tty) this.draw();
  }

  private draw(): void {
    const lines = renderRows(this.rows, Date.now(), this.task);
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    this.out.write(`${up}\x1b[0J${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }
}

/** For the Pod (no terminal): progress as log lines at most every 10 %. */
export function logProgress(write: (message: string) => void): Progress {
  const last = new Map<string, number>();
  return {
    update(task, done, total) {
      if (total <= 0) return;
      const bucket = Math.floor((done / total) * 10);
      if (last.get(task) === bucket) return;
      last.set(task, bucket);
      write(`${task}: ${percent(done, total)}`);
    },
  };
}
