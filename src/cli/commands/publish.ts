// `bib publish -f imagebuild.yaml --from DIR`: publishes what `bib build --output DIR` produced,
// to the targets of the ImageBuild's spec.publish, and records the result in DIR/build.json (so
// that `bib cleanup --from DIR` knows what to delete). Secrets come from Secret documents in the
// -f files; without a credentialsSecretRef the AWS SDK's default chain is used.
import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { pino, type Logger } from "pino";
import type { BuildResult } from "../../api/schema.js";
import { describeErrors } from "../../api/validate.js";
import { resolvePlan, type BuildPlan, type ParentObject } from "../../plan/plan.js";
import {
  artifactsOf,
  BUILD_OUTPUT_FILE,
  readBuildOutput,
  writeBuildOutput,
  type BuildOutput,
} from "../../publish/build-output.js";
import { publishAll } from "../../publish/index.js";
import type { Progress } from "../../util/progress.js";
import { findSecret, loadManifests, type Manifests } from "../manifests.js";
import { logProgress, percent } from "../progress.js";

export interface LocalBuild {
  plan: BuildPlan;
  manifests: Manifests;
  output: BuildOutput;
}

/** The plan of the one ImageBuild in the -f files (or the one named), checked against DIR's build. */
export async function loadLocalBuild(files: string[], dir: string, name?: string): Promise<LocalBuild> {
  const manifests = await loadManifests(files);
  const candidates = manifests.imageBuilds.filter((ib) => !name || ib.metadata.name === name);
  if (candidates.length !== 1) {
    const names = manifests.imageBuilds.map((ib) => ib.metadata.name).join(", ") || "none";
    throw new Error(
      `-f: expected exactly one ImageBuild${name ? ` named ${name}` : " (use --name)"}; found: ${names}`,
    );
  }
  const ib = candidates[0]!;
  const resolved = resolvePlan({
    metadata: { ...ib.metadata, namespace: ib.namespace },
    spec: ib.spec,
  } as ParentObject);
  if (!resolved.ok) throw new Error(`${ib.source.file}: ${describeErrors(resolved.errors)}`);
  const output = await readBuildOutput(dir);
  if (output.buildId !== resolved.buildId) {
    throw new Error(
      `${path.join(dir, BUILD_OUTPUT_FILE)}: built from another spec (build ${output.buildId}, ${ib.source.file} gives ${resolved.buildId}); build again or pass the ImageBuild it was built from`,
    );
  }
  return { plan: resolved.plan, manifests, output };
}

const SECRETS_PREFIX = "bib-secrets-";

/**
 * Removes secrets directories of earlier runs that were killed before they could clean up (the
 * directory name carries the owner's pid; a pid that no longer exists cannot be using it).
 */
export async function removeStaleSecretDirs(tmp = os.tmpdir()): Promise<void> {
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const pid = Number(/^bib-secrets-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH")
        await rm(path.join(tmp, name), { recursive: true, force: true });
    }
  }
}

/**
 * Writes the keys the plan's Secret would hold into a private temporary directory, from the Secret
 * documents of the -f files. The caller removes it. Values are never printed.
 */
export async function materializeSecrets(
  plan: BuildPlan,
  manifests: Manifests,
): Promise<{ dir: string; dispose(): Promise<void> }> {
  await removeStaleSecretDirs();
  const dir = await mkdtemp(path.join(os.tmpdir(), `${SECRETS_PREFIX}${process.pid}-`));
  await chmod(dir, 0o700);
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    for (const s of plan.secrets) {
      const data = findSecret(manifests, plan.imageBuild.namespace, s.name)?.data;
      // Own keys only: a key named `constructor` is not found on Object.prototype.
      const value = data && Object.hasOwn(data, s.key) ? data[s.key] : undefined;
      if (value === undefined) {
        if (s.optional) continue;
        throw new Error(
          `Secret ${plan.imageBuild.namespace}/${s.name}: key ${s.key} not found in the -f files`,
        );
      }
      await writeFile(path.join(dir, s.file), value, { mode: 0o600 });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { dir, dispose };
}

function human(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/** Columns padded to their widest cell (the header row included), two spaces apart. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
}

/** The artifacts/images table `bib build` and `bib publish` print (pure). */
export function formatResult(result: BuildResult): string {
  const lines: string[] = [];
  if (result.artifacts.length) {
    lines.push(
      ...table([
        ["FORMAT", "SIZE", "SHA256", "LOCATION"],
        ...result.artifacts.map((a) => [a.format, human(a.size), a.sha256.slice(0, 12), a.location]),
      ]),
    );
  }
  if (result.images.length) {
    if (lines.length) lines.push("");
    lines.push(
      ...table([
        ["PROVIDER", "REGION", "IMAGE", "SNAPSHOT/DIGEST", "NAME"],
        ...result.images.map((i) => [
          i.provider,
          i.region ?? "-",
          i.imageId ?? "-",
          i.snapshotId ?? i.digest ?? "-",
          i.name ?? "-",
        ]),
      ]),
    );
  }
  return lines.length ? `${lines.join("\n")}\n` : "nothing published\n";
}

/** One redrawn line per task on a terminal; log lines every 10 % otherwise. */
export function terminalProgress(out: NodeJS.WriteStream): Progress {
  if (!out.isTTY) return logProgress((m) => out.write(`${m}\n`));
  let last = 0;
  return {
    update(task, done, total, unit) {
      const now = Date.now();
      if (now - last < 200 && done < total) return;
      last = now;
      const amount = unit === "bytes" ? `${human(done)} / ${human(total)}` : `${done} / ${total} blocks`;
      out.write(`\r\x1b[2K${task}: ${percent(done, total)} (${amount})${done >= total ? "\n" : ""}`);
    },
  };
}

export function cliLogger(verbose: boolean): Logger {
  return pino({ level: verbose ? "info" : "warn", base: undefined }, pino.destination(2));
}

interface PublishOptions {
  file: string[];
  from: string;
  name?: string;
  verbose?: boolean;
}

export async function publishCommand(opts: PublishOptions): Promise<BuildResult> {
  const { plan, manifests, output } = await loadLocalBuild(opts.file, opts.from, opts.name);
  const secrets = await materializeSecrets(plan, manifests);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted"));
  // SIGTERM too, as build and stage handle it: the secrets directory must not outlive the command.
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, onSignal);
  try {
    const result = await publishAll(
      {
        plan,
        artifacts: artifactsOf(opts.from, output),
        secretsDir: secrets.dir,
        volumeRoot: path.resolve(opts.from),
        timestamp: output.timestamp,
        log: cliLogger(Boolean(opts.verbose)),
        progress: terminalProgress(process.stderr),
        signal: controller.signal,
      },
      { location: "file" },
    );
    await writeBuildOutput(opts.from, { ...output, result });
    return result;
  } finally {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.removeListener(sig, onSignal);
    await secrets.dispose();
  }
}

export function registerPublish(program: Command): void {
  program
    .command("publish")
    .description("publish the artifacts of an earlier `bib build --output DIR` to the spec's publish targets")
    .requiredOption("-f, --file <path...>", "ImageBuild manifest(s), with the Secrets it references")
    .requiredOption("--from <dir>", "output directory of `bib build`")
    .option("--name <name>", "the ImageBuild to publish when -f holds several")
    .option("-v, --verbose", "log each step")
    .action(async (opts: PublishOptions) => {
      try {
        const result = await publishCommand(opts);
        process.stdout.write(formatResult(result));
      } catch (error) {
        process.stderr.write(`bib publish: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
