// Runs external programs with argument arrays (never a shell string), keeps the tail of their
// output for error messages, and stops them when the build is aborted.
import { spawn } from "node:child_process";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Called with each chunk of stdout+stderr, e.g. to parse progress or to stream a log. */
  onOutput?: (chunk: string) => void;
  /**
   * Keep stdout and stderr in the result (default); off for programs that print a lot (apt,
   * Ansible, QEMU), whose output goes to onOutput and whose tail is kept for the error anyway.
   */
  captureStdout?: boolean;
  /**
   * Run in a new process group and, on abort, signal the whole group (SIGTERM, then SIGKILL after
   * `killGraceMs`): a shell's children (a provisioner's `sleep`) die with it and release the mounts.
   */
  processGroup?: boolean;
  killGraceMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly signalName: NodeJS.Signals | null,
    readonly outputTail: string,
    options?: ErrorOptions,
  ) {
    const how = exitCode === null ? `was killed by ${signalName ?? "a signal"}` : `exited with ${exitCode}`;
    super(`${command} ${how}${outputTail ? `: ${outputTail}` : ""}`, options);
    this.name = "CommandError";
  }
}

const TAIL_LINES = 20;

function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error(`${command} not started: aborted`, { cause: options.signal.reason }));
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.processGroup
        ? { detached: true }
        : { signal: options.signal, killSignal: "SIGTERM" as const }),
    });
    if (options.processGroup && options.signal) {
      const group = child.pid;
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (group !== undefined) process.kill(-group, sig);
        } catch {
          // The group is already gone.
        }
      };
      const onAbort = () => {
        killGroup("SIGTERM");
        setTimeout(() => killGroup("SIGKILL"), options.killGraceMs ?? 5000).unref();
      };
      options.signal.addEventListener("abort", onAbort, { once: true });
      child.on("close", () => options.signal?.removeEventListener("abort", onAbort));
    }
    const capture = options.captureStdout ?? true;
    let stdout = "";
    let stderr = "";
    let combined = "";
    const remember = (chunk: string) => {
      combined = (combined + chunk).slice(-64 * 1024);
      options.onOutput?.(chunk);
    };
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (capture) stdout += chunk;
      remember(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (capture) stderr += chunk;
      remember(chunk);
    });
    child.on("error", (error) =>
      reject(new CommandError(command, null, null, error.message, { cause: error })),
    );
    child.on("close", (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError(command, code, signal, tail(combined)));
    });
    child.stdin.on("error", () => {
      // The program may exit before reading its input; its exit status says what happened.
    });
    child.stdin.end(options.input ?? "");
  });
}
