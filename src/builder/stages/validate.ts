// Step `validate`: boots the packaged disk in QEMU with OVMF and waits for every expected pattern on
// the serial console. The artifact is opened with snapshot=on, so validation never changes it.
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Artifact } from "../artifact.js";
import { run } from "../../util/exec.js";
import { ConsoleWatcher } from "../disk/console.js";
import { BOOT_FORMAT_PREFERENCE, isDiskFormat, QEMU_FORMAT_NAME } from "../../plan/formats.js";
import {
  firmwaresFor,
  kvmWorks,
  OVMF_VARS,
  qemuBootArgs,
  type Accel,
  type Firmware,
} from "../disk/qemu-boot.js";
import { workspacePaths, type StageContext, type Step } from "../stage.js";
import { ARTIFACTS_STATE_FILE } from "./package.js";

export const CONSOLE_LOG_FILE = "console.log";

const fail = (what: string, cause?: unknown) =>
  new Error(`validate: boot: ${what}`, cause === undefined ? undefined : { cause });

async function bootDisk(state: string): Promise<Artifact> {
  const file = path.join(state, ARTIFACTS_STATE_FILE);
  const artifacts = JSON.parse(await readFile(file, "utf8").catch(() => "[]")) as Artifact[];
  for (const format of BOOT_FORMAT_PREFERENCE) {
    const found = artifacts.find((a) => a.format === format);
    if (found) return found;
  }
  throw fail(`no disk artifact in ${file} to boot (package must produce qcow2, raw, vmdk or vhd)`);
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

type Outcome = "matched" | "timeout" | "exited";

interface BootRun {
  disk: Artifact;
  scratch: string;
  watcher: ConsoleWatcher;
  accel: Accel;
  firmware: Firmware;
}

async function boot(ctx: StageContext, { disk, scratch, watcher, accel, firmware }: BootRun) {
  const { timeoutSeconds } = ctx.plan.validate.boot;
  const vars = path.join(scratch, "OVMF_VARS.fd");
  if (firmware === "ovmf") await copyFile(OVMF_VARS, vars);
  const controller = new AbortController();
  const onAbort = () => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const result: { outcome: Outcome } = { outcome: "exited" };
  const timer = setTimeout(() => {
    result.outcome = "timeout";
    controller.abort();
  }, timeoutSeconds * 1000);
  const started = Date.now();
  try {
    if (!isDiskFormat(disk.format)) throw fail(`${disk.path} is not a disk`);
    const format = QEMU_FORMAT_NAME[disk.format];
    await run("qemu-system-x86_64", qemuBootArgs({ disk: disk.path, format, firmware, vars, accel }), {
      signal: controller.signal,
      captureStdout: false,
      onOutput: (chunk) => {
        watcher.feed(chunk);
        if (watcher.done && result.outcome === "exited") {
          result.outcome = "matched";
          controller.abort();
        }
      },
    });
  } catch (error) {
    if (ctx.signal.aborted) throw fail("aborted", error);
    if (result.outcome === "exited") throw fail(`QEMU failed: ${(error as Error).message}`, error);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
  }
  return { outcome: result.outcome, seconds: (Date.now() - started) / 1000 };
}

export const validate: Step = {
  name: "validate",
  stage: "validate",
  async run(ctx: StageContext): Promise<void> {
    const { enabled, expect, timeoutSeconds } = ctx.plan.validate.boot;
    if (!enabled) return;
    const { state } = workspacePaths(ctx.workspace);
    const scratch = path.join(state, "validate");
    await mkdir(scratch, { recursive: true });
    const disk = await bootDisk(state);
    const accel = await chooseAccel(scratch);
    try {
      // A hybrid disk claims both firmwares, so it has to boot with both.
      for (const [i, firmware] of firmwaresFor(ctx.plan.disk.bootMode).entries()) {
        const watcher = new ConsoleWatcher(expect);
        const logFile = path.join(state, i === 0 ? CONSOLE_LOG_FILE : `console-${firmware}.log`);
        ctx.log.info({ disk: disk.path, accel, firmware, timeoutSeconds }, "validate: booting");
        try {
          const { outcome, seconds } = await boot(ctx, { disk, scratch, watcher, accel, firmware });
          if (outcome !== "matched") {
            const why = outcome === "timeout" ? `timed out after ${timeoutSeconds}s` : "QEMU exited";
            throw fail(
              `${why} before the console showed ${watcher
                .missing()
                .map((p) => JSON.stringify(p))
                .join(", ")} (${firmware}, ${accel}); last console lines:\n${watcher.lastLines(20)}`,
            );
          }
          ctx.log.info(
            { seconds, accel, firmware },
            "validate: every expected pattern appeared on the console",
          );
        } finally {
          await writeFile(logFile, watcher.raw());
        }
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};
