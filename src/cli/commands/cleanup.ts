// `bib cleanup`: deletes what a build published (deletionPolicy Delete). In the cleanup Job it
// reads plan.json and cleanup.json from the plan directory and credentials from the secrets
// directory; locally, `bib cleanup -f imagebuild.yaml --from DIR` reads DIR/build.json.
// Exit 1 when anything could not be deleted, so the Job retries.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { POD_PATHS } from "../../api/constants.js";
import { readPlanDir } from "../../builder/plan-dir.js";
import { cleanupTargetsSchema, type CleanupTargets } from "../../api/status-entries.js";
import type { BuildPlan } from "../../plan/plan.js";
import { CLEANUP_FILE, cleanupPublished, type CleanupReport } from "../../publish/cleanup.js";
import { loadLocalBuild } from "../local-build.js";
import { materializeSecrets } from "../local-secrets.js";
import { cliLogger } from "../logger.js";

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    throw new Error(`${file}: ${(cause as Error).message}`, { cause });
  }
}

/** The cleanup Job's inputs: plan.json and cleanup.json (`{artifacts, images}` as in status). */
export async function readPodCleanupInputs(
  planDir: string,
): Promise<{ plan: BuildPlan; published: CleanupTargets }> {
  const plan = await readPlanDir(planDir);
  const parsed = cleanupTargetsSchema.safeParse(await readJson(path.join(planDir, CLEANUP_FILE)));
  if (!parsed.success)
    throw new Error(`${path.join(planDir, CLEANUP_FILE)}: ${parsed.error.issues[0]?.message}`);
  return { plan, published: parsed.data };
}

export function formatReport(report: CleanupReport): string {
  return [
    ...report.done.map((d) => `deleted  ${d}`),
    ...report.warnings.map((w) => `warning  ${w}`),
    ...report.failures.map((f) => `FAILED   ${f}`),
  ]
    .map((l) => `${l}\n`)
    .join("");
}

interface CleanupOptions {
  file?: string[];
  from?: string;
  name?: string;
  planDir: string;
  secretsDir: string;
  verbose?: boolean;
}

export async function cleanupCommand(opts: CleanupOptions): Promise<CleanupReport> {
  const log = cliLogger(Boolean(opts.verbose));
  if (opts.file?.length || opts.from) {
    if (!opts.file?.length || !opts.from) throw new Error("locally, give both -f and --from");
    const { plan, manifests, output } = await loadLocalBuild(opts.file, opts.from, opts.name);
    const secrets = await materializeSecrets(plan, manifests);
    try {
      return await cleanupPublished({ plan, published: output.result, secretsDir: secrets.dir, log });
    } finally {
      await secrets.dispose();
    }
  }
  const { plan, published } = await readPodCleanupInputs(opts.planDir);
  return cleanupPublished({ plan, published, secretsDir: opts.secretsDir, log });
}

export function registerCleanup(program: Command): void {
  program
    .command("cleanup")
    .description(
      "delete published AMIs, snapshots, objects and containerDisk manifests (deletionPolicy Delete)",
    )
    .option("-f, --file <path...>", "ImageBuild manifest(s), locally (with --from)")
    .option("--from <dir>", "output directory of `bib build` / `bib publish`, locally")
    .option("--name <name>", "the ImageBuild when -f holds several")
    .option("--plan-dir <dir>", "plan.json and cleanup.json (cleanup Job)", POD_PATHS.plan)
    .option("--secrets-dir <dir>", "credentials (cleanup Job)", POD_PATHS.secrets)
    .option("-v, --verbose", "log each step")
    .action(async (opts: CleanupOptions) => {
      try {
        const report = await cleanupCommand(opts);
        process.stdout.write(formatReport(report));
        if (report.failures.length) {
          process.stderr.write(`bib cleanup: ${report.failures.length} object(s) could not be deleted\n`);
          process.exitCode = 1;
        }
      } catch (error) {
        process.stderr.write(`bib cleanup: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
