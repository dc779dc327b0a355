// `bib build -f imagebuild.yaml`: the whole build on this machine (root), with live progress and
// the artifacts table at the end. Exit 2: invalid spec; 1: a stage failed; 130/143: interrupted.
import path from "node:path";
import type { Command } from "commander";
import { localPlan } from "../../builder/local.js";
import { defaultCacheDir, runLocalBuild } from "../../builder/local-run.js";
import { timingTable } from "../../builder/runner.js";
import { buildTimestamp } from "../../builder/stage.js";
import type { ChecksSummary } from "../../builder/stages/validate.js";
import { buildInputs, loadManifests } from "../manifests.js";
import { ProgressDisplay } from "../progress.js";
import { table } from "../table.js";

interface BuildFlags {
  file: string[];
  output: string;
  /** false with --no-cache (commander's negation of --cache). */
  cache?: string | false;
  workspace?: string;
  keepWorkspace?: boolean;
}

export function artifactsTable(
  output: { artifacts: Array<{ format: string; file: string; size: number; sha256: string }> },
  dir: string,
): string {
  const rows = output.artifacts.map((a) => [
    a.format,
    `${(a.size / 2 ** 20).toFixed(1)} MiB`,
    a.sha256,
    path.join(dir, a.file),
  ]);
  return table([["FORMAT", "SIZE", "SHA256", "LOCATION"], ...rows]).join("\n");
}

/** One line per check run in the test VM, then "n/m checks passed". */
export function checksTable(summary: ChecksSummary): string {
  const rows = summary.checks.map((c) => [c.name, c.status === 0 ? "passed" : `failed (status ${c.status})`]);
  const passed = summary.checks.filter((c) => c.status === 0).length;
  return [...table([["CHECK", "RESULT"], ...rows]), `${passed}/${summary.total} checks passed`].join("\n");
}

function interruptHandling(): { signal: AbortSignal; exitCode(): number | undefined } {
  const controller = new AbortController();
  let code: number | undefined;
  const on = (name: NodeJS.Signals, exit: number) =>
    process.on(name, () => {
      code ??= exit;
      controller.abort(`interrupted by ${name}`);
    });
  on("SIGTERM", 143);
  on("SIGINT", 130);
  return { signal: controller.signal, exitCode: () => code };
}

async function build(flags: BuildFlags): Promise<number> {
  const manifests = buildInputs(await loadManifests(flags.file), flags.file.join(", "));
  const resolved = localPlan(manifests);
  if (!resolved.ok) {
    for (const e of resolved.errors) console.error(`${e.path}: ${e.message}`);
    return 2;
  }
  const { plan } = resolved;
  if (process.getuid?.() !== 0) {
    console.error("bib build: must run as root (debootstrap, chroot and mounts need it)");
    return 1;
  }
  const interrupt = interruptHandling();
  let display: ProgressDisplay | undefined;
  const output = path.resolve(flags.output);
  const result = await runLocalBuild(
    plan,
    manifests,
    {
      output,
      ...(flags.cache === false ? {} : { cache: path.resolve(flags.cache ?? defaultCacheDir()) }),
      ...(flags.workspace ? { workspace: flags.workspace } : {}),
      keepWorkspace: Boolean(flags.keepWorkspace),
      signal: interrupt.signal,
      // BUILD_TIMESTAMP as in the Pod: two builds with the same one give the same tgz bytes.
      timestamp: buildTimestamp(process.env),
    },
    (steps) => (display = new ProgressDisplay(steps, process.stdout)),
  );
  display?.finish(result.timings);
  if (result.checks) console.log(`\n${checksTable(result.checks)}`);
  if (result.error) {
    console.error(`bib build: failed: ${result.error.message}`);
    console.error(`log: ${result.logFile}`);
    return interrupt.exitCode() ?? 1;
  }
  console.log(`\n${timingTable(result.timings)}\n`);
  if (result.output) console.log(artifactsTable(result.output, output));
  return 0;
}

export function registerBuild(program: Command): void {
  program
    .command("build")
    .description("build the image of an ImageBuild on this machine (as root)")
    .requiredOption(
      "-f, --file <file...>",
      "YAML with the ImageBuild and any ConfigMaps/Secrets it references",
    )
    .option("-o, --output <dir>", "where the artifacts and build.json go", "./out")
    .option(
      "--cache <dir>",
      "cache shared across builds: packages, cached trees (default /var/cache/bib as root, else ~/.cache/bib)",
    )
    .option("--no-cache", "use no cache: download every package, run every step, save nothing")
    .option(
      "--workspace <dir>",
      "where the build's tree and scratch files live (default /var/tmp/bib-<name>)",
    )
    .option("--keep-workspace", "keep the workspace after the build (for debugging)")
    .action(async (flags: BuildFlags) => {
      process.exitCode = await build(flags);
    });
}
