// `bib publish -f imagebuild.yaml --from DIR`: publishes what `bib build --output DIR` produced,
// to the targets of the ImageBuild's spec.publish, and records the result in DIR/build.json (so
// that `bib cleanup --from DIR` knows what to delete). Secrets come from Secret documents in the
// -f files; without a credentialsSecretRef the AWS SDK's default chain is used.
import path from "node:path";
import type { Command } from "commander";
import type { BuildResult } from "../../api/schema.js";
import { artifactsOf, writeBuildOutput } from "../../publish/build-output.js";
import { publishAll } from "../../publish/index.js";
import type { Progress } from "../../util/progress.js";
import { loadLocalBuild } from "../local-build.js";
import { materializeSecrets } from "../local-secrets.js";
import { cliLogger } from "../logger.js";
import { logProgress, percent } from "../progress.js";
import { table } from "../table.js";

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
