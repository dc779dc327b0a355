// `bib stage <name>`: one container of the build Pod. Paths default to POD_PATHS; the build's
// timestamp comes from BUILD_TIMESTAMP (stable across the Job's retries). Logs are JSON lines on
// stdout, which `kubectl logs` shows.
import { Argument, type Command } from "commander";
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { POD_PATHS } from "../../api/constants.js";
import { mountOptions } from "../../builder/chroot/mountinfo.js";
import { readPlanDir } from "../../builder/plan-dir.js";
import { buildTimestamp } from "../../builder/stage.js";
import { runSteps, timingTable, workspaceSweep } from "../../builder/runner.js";
import { scratchDir } from "../../builder/stages/provision.js";
import { podPublishStep } from "../../builder/stages/publish.js";
import { STAGE_COMMANDS, stageCommandSteps, type StageCommand } from "../../builder/steps.js";
import { effectiveCapabilities } from "../../util/capabilities.js";
import { loadRedactor } from "../../builder/secret-redactor.js";
import { idMapProblem, readIdMaps } from "../../util/user-namespace.js";
import { logProgress } from "../progress.js";

interface StageFlags {
  plan: string;
  secrets: string;
  configmaps: string;
  workspace: string;
  cache: string;
  volumeRoot: string;
  terminationLog: string;
}

async function stage(name: StageCommand, flags: StageFlags): Promise<number> {
  const controller = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const)
    process.on(sig, () => controller.abort(`interrupted by ${sig}`));
  const redact = await loadRedactor(flags.secrets);
  const log = pino({ base: { stage: name }, hooks: { streamWrite: redact } });
  // What the container really holds, to compare with its stage-table entry; whose uid 0 it is (a
  // user namespace of its own with hostUsers: false); how the runtime mounted the workspace.
  const idMaps = await readIdMaps();
  const uidMap = idMaps.uid.flatMap((r) => [r.inside, r.outside, r.size]);
  const workspaceMount = mountOptions(await readFile("/proc/self/mountinfo", "utf8"), flags.workspace);
  log.info(
    { capabilities: await effectiveCapabilities(), uidMap, workspaceMount },
    `stage ${name}: effective capabilities, uid map, workspace mount`,
  );
  // Before any step: in a namespace with too few ids the build would fail half-way (or worse,
  // change owners), so it ends here with the reason as the container's last line.
  const idProblem = idMapProblem(idMaps);
  if (idProblem) {
    console.error(`${name}: ${idProblem}`);
    return 1;
  }
  const plan = await readPlanDir(flags.plan);
  const steps = stageCommandSteps(name, plan, podPublishStep(flags.terminationLog));
  const ctx = {
    plan,
    planDir: flags.plan,
    workspace: flags.workspace,
    secretsDir: flags.secrets,
    configMapsDir: flags.configmaps,
    cacheDir: flags.cache,
    volumeRoot: flags.volumeRoot,
    timestamp: buildTimestamp(process.env),
    log,
    progress: logProgress((message) => log.info({ progress: true }, message)),
    signal: controller.signal,
  };
  const outcome = await runSteps(
    steps,
    ctx,
    {},
    workspaceSweep(flags.workspace, [scratchDir(flags.workspace)]),
  );
  log.info({ timings: outcome.timings }, `stage ${name} timings\n${timingTable(outcome.timings)}`);
  if (outcome.error) {
    // The last line of the container's log is what `kubectl describe` and the sync hook show.
    console.error(redact(outcome.error.message));
    return controller.signal.aborted ? 143 : 1;
  }
  return 0;
}

export function registerStage(program: Command): void {
  program
    .command("stage")
    .description("run one stage of the build Pod (used by the build Job's containers)")
    .addArgument(new Argument("<name>", "stage").choices(STAGE_COMMANDS))
    .option("--plan <dir>", "plan directory (plan.json and assets)", POD_PATHS.plan)
    .option("--secrets <dir>", "secrets directory", POD_PATHS.secrets)
    .option("--configmaps <dir>", "directory of referenced ConfigMaps", POD_PATHS.configMaps)
    .option("--workspace <dir>", "workspace (rootfs/, artifacts/, state/)", POD_PATHS.workspace)
    .option("--cache <dir>", "package cache", POD_PATHS.cache)
    .option("--volume-root <dir>", "where publish.volume's claim is mounted", POD_PATHS.volume)
    .option("--termination-log <file>", "where the result goes", POD_PATHS.terminationLog)
    .action(async (name: StageCommand, flags: StageFlags) => {
      process.exitCode = await stage(name, flags);
    });
}
