import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { RunnerStep } from "../../src/builder/runner.js";
import { percent, ProgressDisplay, renderRows } from "../../src/cli/progress.js";

const steps: RunnerStep[] = [
  { name: "debootstrap", stage: "base", run: async () => {} },
  { name: "packages", stage: "provision", run: async () => {} },
  { name: "package", stage: "package", run: async () => {} },
];

function capture(tty: boolean) {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (c: Buffer) => (text += c.toString()));
  const display = new ProgressDisplay(steps, stream as unknown as NodeJS.WriteStream, tty);
  return { display, text: () => text };
}

describe("build progress", () => {
  it("renders done, running (seconds and task) and pending steps", () => {
    const lines = renderRows(
      [
        { stage: "base", step: "debootstrap", state: "ok", seconds: 35.25 },
        { stage: "provision", step: "packages", state: "running", started: 1000 },
        { stage: "package", step: "package", state: "pending" },
      ],
      3500,
      "download base 40%",
    );
    expect(lines).toEqual([
      "✓ base       debootstrap   35.3s",
      "▶ provision  packages       2.5s  download base 40%",
      "· package    package    ",
    ]);
  });

  it("computes percentages, capped, and none without a total", () => {
    expect(percent(1, 3)).toBe("33%");
    expect(percent(5, 4)).toBe("100%");
    expect(percent(5, 0)).toBe("");
  });

  it("writes plain lines without a terminal: one per step event and per 10 % of a task", () => {
    const { display, text } = capture(false);
    display.onStepStart(steps[0]!, 0);
    for (let done = 0; done <= 100; done += 5) display.update("download base", done, 100, "bytes");
    display.onStepEnd({ stage: "base", step: "debootstrap", seconds: 1.25, outcome: "ok" }, 0);
    const lines = text().trim().split("\n");
    expect(lines[0]).toBe("base: debootstrap ...");
    expect(lines.filter((l) => l.includes("download base"))).toHaveLength(11);
    expect(lines.at(-1)).toBe("base: debootstrap: ok (1.3 s)");
    expect(text()).not.toContain("\x1b[");
  });

  it("redraws the step list in place on a terminal", () => {
    const { display, text } = capture(true);
    display.onStepStart(steps[0]!, 0);
    display.finish([{ stage: "base", step: "debootstrap", seconds: 2, outcome: "failed" }]);
    expect(text()).toContain("\x1b[3A");
    expect(text()).toContain("▶ base");
  });
});
