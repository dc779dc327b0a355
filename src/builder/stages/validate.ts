// Step `validate`: boots the packaged disk in QEMU with OVMF and waits for every expected pattern on
// the serial console, then runs spec.validate.boot.checks inside the guest. The artifact is opened
// with snapshot=on, so validation never changes it; with checks, a throwaway working copy that
// carries the check agent boots instead (see disk/guest-checks.ts).
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import path from "node:path";
import type { Artifact } from "../../plan/artifact.js";
import type { BootCheck } from "../../plan/plan.js";
import { run } from "../../util/exec.js";
import { ConsoleWatcher } from "../disk/console.js";
import {
  AGENT_SCRIPT,
  AGENT_UNIT,
  AGENT_UNIT_NAME,
  AGENT_WANTS_DIR,
  GUEST_CHECK_DIR,
  CHECK_PORT,
  CheckReports,
  checkFile,
  debugfsScript,
  describeFailure,
} from "../disk/guest-checks.js";
import { diskLayout } from "../disk/layout.js";
import { BOOT_FORMAT_PREFERENCE, isDiskFormat, QEMU_FORMAT_NAME } from "../../plan/formats.js";
import {
  firmwaresFor,
  kvmWorks,
  OVMF_VARS,
  qemuBootArgs,
  type Accel,
  type Firmware,
} from "../disk/qemu-boot.js";
import { StepError, workspacePaths, type StageContext, type Step } from "../stage.js";
import { artifactsStateFile, readArtifactsState } from "../artifacts-state.js";

export const CONSOLE_LOG_FILE = "console.log";
/** `{checks: [{name, status}]}` of the last boot, for `bib build`'s summary. */
export const CHECKS_STATE_FILE = "checks.json";

const fail = (what: string, cause?: unknown) =>
  new StepError("validate", "boot", what, cause === undefined ? undefined : { cause });

async function bootDisk(workspace: string): Promise<Artifact> {
  const artifacts = await readArtifactsState(workspace).catch((e: unknown) => {
    throw fail((e as Error).message, e);
  });
  for (const format of BOOT_FORMAT_PREFERENCE) {
    const found = artifacts.find((a) => a.format === format);
    if (found) return found;
  }
  throw fail(
    `no disk artifact in ${artifactsStateFile(workspace)} to boot (package must produce qcow2, raw, vmdk or vhd)`,
  );
}

async function chooseAccel(scratch: string): Promise<Accel> {
  const vars = path.join(scratch, "probe-vars.fd");
  await copyFile(OVMF_VARS, vars);
  try {
    return (await kvmWorks(vars)) ? "kvm" : "tcg";
  } finally {
    await rm(vars, { force: true });
  }
}

type Outcome = "matched" | "timeout" | "exited" | "check-failed";

function qemuFormat(artifact: Artifact): string {
  if (!isDiskFormat(artifact.format)) throw fail(`${artifact.path} is not a disk`);
  return QEMU_FORMAT_NAME[artifact.format];
}

/** What QEMU boots: the artifact itself, or the working copy with the check agent. */
interface BootDisk {
  path: string;
  /** qemu's format name. */
  format: string;
}

interface BootRun {
  disk: BootDisk;
  scratch: string;
  watcher: ConsoleWatcher;
  reports: CheckReports | undefined;
  accel: Accel;
  firmware: Firmware;
}

/**
 * A raw working copy of the disk with the check agent, its unit and the checks written into the
 * root filesystem by debugfs: no mount, no loop device, no FUSE, and the artifact only read.
 */
async function diskWithChecks(ctx: StageContext, artifact: Artifact, scratch: string): Promise<BootDisk> {
  const { checks } = ctx.plan.validate.boot;
  const copy = path.join(scratch, "checks-disk.raw");
  const format = qemuFormat(artifact);
  await run("qemu-img", ["convert", "-f", format, "-O", "raw", artifact.path, copy], { signal: ctx.signal });
  const files = {
    agent: path.join(scratch, "agent.sh"),
    unit: path.join(scratch, "agent.service"),
    checks: checks.map((_, i) => path.join(scratch, `check-${checkFile(i)}`)),
  };
  await writeFile(files.agent, AGENT_SCRIPT);
  await writeFile(files.unit, AGENT_UNIT);
  for (const [i, check] of checks.entries()) await writeFile(files.checks[i]!, `${check.run}\n`);
  const requests = path.join(scratch, "debugfs.txt");
  await writeFile(requests, debugfsScript(files));
  const root = diskLayout(ctx.plan.disk.sizeBytes, ctx.plan.disk.bootMode).root;
  const fs = `${copy}?offset=${root.offset}`;
  await run("debugfs", ["-w", "-f", requests, fs], { signal: ctx.signal });
  // debugfs reports a failed request on stderr and goes on: check that everything landed.
  const list = async (dir: string) => (await run("debugfs", ["-R", `ls -p ${dir}`, fs])).stdout;
  const written = await list(GUEST_CHECK_DIR);
  const missing = ["agent", ...checks.map((_, i) => checkFile(i))].filter((f) => !written.includes(`/${f}/`));
  if (!(await list(AGENT_WANTS_DIR)).includes(`/${AGENT_UNIT_NAME}/`)) missing.push(AGENT_UNIT_NAME);
  if (missing.length > 0) {
    throw fail(
      `could not write the check agent into the test VM's disk copy (missing: ${missing.join(", ")})`,
    );
  }
  return { path: copy, format: "raw" };
}

/** Connects to QEMU's socket for the check port, retrying while QEMU starts. */
async function connectChecks(socket: string, signal: AbortSignal): Promise<Socket> {
  for (;;) {
    if (signal.aborted) throw new Error("aborted");
    const connection = await new Promise<Socket | undefined>((resolve) => {
      const s = createConnection(socket);
      s.once("connect", () => resolve(s));
      s.once("error", () => resolve(undefined));
    });
    if (connection) return connection;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function boot(ctx: StageContext, { disk, scratch, watcher, reports, accel, firmware }: BootRun) {
  const { timeoutSeconds } = ctx.plan.validate.boot;
  const vars = path.join(scratch, "OVMF_VARS.fd");
  if (firmware === "ovmf") await copyFile(OVMF_VARS, vars);
  const controller = new AbortController();
  const onAbort = () => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const result: { outcome: Outcome } = { outcome: "exited" };
  const finish = (outcome: Outcome) => {
    if (result.outcome !== "exited") return;
    result.outcome = outcome;
    controller.abort();
  };
  const timer = setTimeout(() => finish("timeout"), timeoutSeconds * 1000);
  const started = Date.now();
  const socket = path.join(scratch, "checks.sock");
  let channel: Socket | undefined;
  let sentGo = false;
  // The checks start once the console showed every pattern and the agent is listening.
  const maybeGo = () => {
    if (!reports || !channel || sentGo || !watcher.done || !reports.ready) return;
    sentGo = true;
    ctx.log.info({ firmware, checks: ctx.plan.validate.boot.checks.length }, "validate: running checks");
    channel.write("go\n");
  };
  const onReport = (chunk: string) => {
    reports!.feed(chunk);
    for (const r of reports!.results.slice(-1)) {
      if (r.status !== 0) finish("check-failed");
    }
    if (reports!.done) finish(reports!.failed ? "check-failed" : "matched");
    maybeGo();
  };
  let logged = 0;
  const logResults = () => {
    for (const r of reports?.results.slice(logged) ?? []) {
      ctx.log.info(
        { firmware, check: r.name, status: r.status },
        `validate: check "${r.name}" ${r.status === 0 ? "passed" : "failed"}`,
      );
    }
    logged = reports?.results.length ?? 0;
  };
  try {
    const format = disk.format;
    const checks = reports ? { socket, port: CHECK_PORT } : undefined;
    const qemu = run(
      "qemu-system-x86_64",
      qemuBootArgs({ disk: disk.path, format, firmware, vars, accel, ...(checks ? { checks } : {}) }),
      {
        signal: controller.signal,
        captureStdout: false,
        onOutput: (chunk) => {
          watcher.feed(chunk);
          if (!watcher.done) return;
          if (!reports) finish("matched");
          else maybeGo();
        },
      },
    );
    if (reports) {
      void connectChecks(socket, controller.signal).then(
        (c) => {
          channel = c;
          c.setEncoding("utf8").on("data", (chunk: string) => {
            onReport(chunk);
            logResults();
          });
          c.on("error", () => undefined);
          maybeGo();
        },
        () => undefined,
      );
    }
    await qemu;
  } catch (error) {
    if (ctx.signal.aborted) throw fail("aborted", error);
    if (result.outcome === "exited") throw fail(`QEMU failed: ${(error as Error).message}`, error);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
    channel?.destroy();
    logResults();
  }
  return { outcome: result.outcome, seconds: (Date.now() - started) / 1000 };
}

function failureMessage(
  outcome: Exclude<Outcome, "matched">,
  watcher: ConsoleWatcher,
  reports: CheckReports | undefined,
  where: string,
  timeoutSeconds: number,
): string {
  const failed = reports?.failed;
  if (outcome === "check-failed" && failed) {
    return `${describeFailure(failed)} (${reports!.passed}/${reports!.checkCount} checks passed, ${where})`;
  }
  const why = outcome === "timeout" ? `timed out after ${timeoutSeconds}s` : "QEMU exited";
  if (watcher.done && reports) {
    const pending = reports.pending;
    const state = pending ? `while check "${pending.name}" had not finished` : "before the checks reported";
    return `${why} ${state} (${reports.passed}/${reports.checkCount} checks passed, ${where}); last console lines:\n${watcher.lastLines(20)}`;
  }
  return `${why} before the console showed ${watcher
    .missing()
    .map((p) => JSON.stringify(p))
    .join(", ")} (${where}); last console lines:\n${watcher.lastLines(20)}`;
}

export interface ChecksSummary {
  checks: Array<{ name: string; status: number }>;
  total: number;
}

function checksSummary(checks: readonly BootCheck[], reports: CheckReports): ChecksSummary {
  return { checks: reports.results.map((r) => ({ name: r.name, status: r.status })), total: checks.length };
}

/** The last boot's check results, when it ran checks. */
export async function readChecksSummary(workspace: string): Promise<ChecksSummary | undefined> {
  const file = path.join(workspacePaths(workspace).state, CHECKS_STATE_FILE);
  const text = await readFile(file, "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ChecksSummary);
}

export const validate: Step = {
  name: "validate",
  stage: "validate",
  async run(ctx: StageContext): Promise<void> {
    const { enabled, expect, timeoutSeconds, checks } = ctx.plan.validate.boot;
    if (!enabled) return;
    const { state } = workspacePaths(ctx.workspace);
    const scratch = path.join(state, "validate");
    await mkdir(scratch, { recursive: true });
    const artifact = await bootDisk(ctx.workspace);
    const accel = await chooseAccel(scratch);
    try {
      const disk =
        checks.length > 0
          ? await diskWithChecks(ctx, artifact, scratch)
          : {
              path: artifact.path,
              format: qemuFormat(artifact),
            };
      // A hybrid disk claims both firmwares, so it has to boot with both.
      for (const [i, firmware] of firmwaresFor(ctx.plan.disk.bootMode).entries()) {
        const watcher = new ConsoleWatcher(expect);
        const reports = checks.length > 0 ? new CheckReports(checks) : undefined;
        const logFile = path.join(state, i === 0 ? CONSOLE_LOG_FILE : `console-${firmware}.log`);
        ctx.log.info({ disk: artifact.path, accel, firmware, timeoutSeconds }, "validate: booting");
        try {
          const { outcome, seconds } = await boot(ctx, { disk, scratch, watcher, reports, accel, firmware });
          if (outcome !== "matched") {
            throw fail(failureMessage(outcome, watcher, reports, `${firmware}, ${accel}`, timeoutSeconds));
          }
          ctx.log.info(
            { seconds, accel, firmware, checksPassed: reports?.passed ?? 0, checks: checks.length },
            reports
              ? `validate: every expected pattern appeared on the console; ${reports.passed}/${checks.length} checks passed`
              : "validate: every expected pattern appeared on the console",
          );
        } finally {
          await writeFile(logFile, watcher.raw());
          if (reports) {
            const summary = `${JSON.stringify(checksSummary(checks, reports))}\n`;
            await writeFile(path.join(state, CHECKS_STATE_FILE), summary);
          }
        }
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};
