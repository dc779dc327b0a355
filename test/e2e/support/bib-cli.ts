// Runs the real `bib` CLI (from source, through tsx) the way a user does, optionally under a reduced
// capability bounding set, and reads what it left behind: exit status, output, mounts.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { BUILD_CAPABILITIES } from "../../../src/plan/stage-table.js";

export const REPO = path.resolve(import.meta.dirname, "../../..");
const MAIN = path.join(REPO, "src/cli/main.ts");

/** setpriv arguments that keep only the build's capabilities in the bounding set (and none inheritable). */
export function reducedCapabilities(): string[] {
  const caps = BUILD_CAPABILITIES.map((c) => `+${c.toLowerCase()}`).join(",");
  return ["setpriv", `--bounding-set=-all,${caps}`, "--inh-caps=-all", "--"];
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface CliOptions {
  capabilities?: "reduced" | "full";
  env?: NodeJS.ProcessEnv;
  /** Called once the process started, e.g. to send it a signal later. */
  onSpawn?: (pid: number, output: () => string) => void;
}

export function bib(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  // node itself (not the tsx launcher, which forks): the pid we signal is the bib process.
  const node = [process.execPath, "--import", "tsx", MAIN];
  const command = [...(options.capabilities === "reduced" ? reducedCapabilities() : []), ...node, ...args];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: REPO,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    if (child.pid !== undefined) options.onSpawn?.(child.pid, () => stdout + stderr);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

/** Mount points at or below `dir`, from the kernel's table. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  return info
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)));
}
