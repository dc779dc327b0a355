import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { AGENT_SCRIPT, CheckReports, describeFailure } from "../../src/builder/disk/guest-checks.js";

const checks = [
  { name: "first", run: "true" },
  { name: "second", run: "false" },
  { name: "third", run: "true" },
];

describe("the check agent's reports", () => {
  it("are read across chunk boundaries, with each check's output", () => {
    const r = new CheckReports(checks);
    r.feed("BIB-AGENT re");
    expect(r.ready).toBe(false);
    r.feed("ady\n| hello\n|\nBIB-CHECK 0 0\n| oops\nBIB-CH");
    r.feed("ECK 1 3\nBIB-AGENT done\n");
    expect(r.ready && r.done).toBe(true);
    expect(r.results).toEqual([
      { name: "first", status: 0, output: ["hello", ""] },
      { name: "second", status: 3, output: ["oops"] },
    ]);
    expect(r.passed).toBe(1);
    expect(r.failed?.name).toBe("second");
    expect(r.pending?.name).toBe("third");
    expect(describeFailure(r.failed!)).toBe('check "second" exited with status 3; last lines:\noops');
  });

  it("is valid POSIX shell", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bib-agent-"));
    try {
      await writeFile(path.join(dir, "agent"), AGENT_SCRIPT);
      await promisify(execFile)("sh", ["-n", path.join(dir, "agent")]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
