// The one way bib runs programs: argument arrays, output streamed, the tail kept for errors.
import { describe, expect, it } from "vitest";
import { CommandError, run } from "../../src/util/exec.js";

const script = (s: string) => ["-c", s];

describe("run", () => {
  it("captures stdout and stderr by default", async () => {
    expect(await run("sh", script("echo out; echo err >&2"))).toEqual({ stdout: "out\n", stderr: "err\n" });
  });

  it("keeps neither when told not to capture, and still streams both", async () => {
    const chunks: string[] = [];
    const result = await run("sh", script("echo out; echo err >&2"), {
      captureStdout: false,
      onOutput: (c) => chunks.push(c),
    });
    expect(result).toEqual({ stdout: "", stderr: "" });
    expect(chunks.join("").split("\n").filter(Boolean).sort()).toEqual(["err", "out"]);
  });

  it("fails with the exit status and the output's tail, uncaptured output included", async () => {
    const error = await run("sh", script("seq 1 30; echo boom >&2; exit 3"), { captureStdout: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).exitCode).toBe(3);
    expect((error as CommandError).outputTail.split("\n")).toEqual([
      ...Array.from({ length: 19 }, (_, i) => String(i + 12)),
      "boom",
    ]);
  });

  it("passes arguments as they are, never through a shell", async () => {
    const { stdout } = await run("printf", ["%s|", "a b", "$HOME", "`id`"]);
    expect(stdout).toBe("a b|$HOME|`id`|");
  });
});
