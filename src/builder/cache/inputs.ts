// What each cacheable step's result depends on, read from the plan directory, the ConfigMaps and
// the Secrets the build sees: contents by their sha256, a git source by the commit its ref names
// now (never the ref's name), a Secret-sourced extraVars file by a hash of its bytes (never its
// value). I/O at the edge; the keys themselves are made by keys.ts.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BuildPlan, PlaybookSource, ProvisionerPlan } from "../../plan/plan.js";
import { run } from "../../util/exec.js";
import { ORIGINAL_SUFFIX, standInsFor } from "../chroot/standins.js";
import type { StageContext } from "../stage.js";
import { hasDiskFormat } from "../../plan/formats.js";
import { provisionerStepName, sha256Hex, type KeyBase, type KeyedStepInput } from "./keys.js";

async function bibVersion(): Promise<string> {
  // src/builder/cache/ and dist/builder/cache/ are both three levels under the package root.
  const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Every stand-in's path and text: a changed stand-in changes what a saved tree was built with. */
async function standInsHash(): Promise<string> {
  // A root that does not exist: every program is at its default path, the same on every machine.
  const standIns = await standInsFor("/nonexistent-bib-root");
  return sha256Hex(standIns.map((s) => `${s.path}\n${s.content(s.path + ORIGINAL_SUFFIX)}`).join("\0"));
}

export async function keyBase(base: unknown): Promise<KeyBase> {
  return { bibVersion: await bibVersion(), standIns: await standInsHash(), base };
}

const fileHash = async (file: string) => sha256Hex(await readFile(file));

/** The commit a git source's ref (or HEAD) names on the remote now; a branch before a tag. */
export async function resolveGitCommit(
  url: string,
  ref: string | undefined,
  signal: AbortSignal,
): Promise<string> {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
  const { stdout } = await run("git", ["ls-remote", "--", url, ...(ref ? [ref] : ["HEAD"])], { signal, env });
  const refs = new Map(
    stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [sha, name] = line.split("\t");
        return [name!, sha!] as const;
      }),
  );
  const wanted = ref ? [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`] : ["HEAD"];
  for (const name of wanted) {
    const sha = refs.get(name);
    if (sha) return sha;
  }
  throw new Error(`${url} has no ${ref ? `branch or tag "${ref}"` : "HEAD"}`);
}

async function playbookContent(ctx: StageContext, source: PlaybookSource, field: string): Promise<unknown> {
  switch (source.source) {
    case "asset":
      return { inline: await fileHash(path.join(ctx.planDir, source.asset)) };
    case "configMap":
      return {
        configMap: await fileHash(path.join(ctx.configMapsDir, source.name, source.key)).catch(() => {
          throw new Error(`${field}.configMapRef: ConfigMap "${source.name}" has no key "${source.key}"`);
        }),
      };
    case "git":
      return {
        git: source.url,
        commit: await resolveGitCommit(source.url, source.ref, ctx.signal).catch((error: unknown) => {
          throw new Error(`${field}.git: ${(error as Error).message}`, { cause: error });
        }),
        path: source.path,
      };
  }
}

async function provisionerContent(ctx: StageContext, p: ProvisionerPlan, index: number): Promise<unknown> {
  if (p.type === "shell") return { shell: await fileHash(path.join(ctx.planDir, p.asset)) };
  const field = `spec.provisioners[${index}].ansible`;
  const secretVars = p.extraVarsFile
    ? await fileHash(path.join(ctx.secretsDir, p.extraVarsFile)).catch(() => null)
    : null;
  return {
    ansible: await playbookContent(ctx, p.playbook, field),
    extraVars: p.extraVars,
    secretExtraVars: secretVars,
  };
}

/** The provisioner types pythonForAnsible decides by: those up to and including the first ansible one. */
export function pythonDecidingTypes(provisioners: readonly ProvisionerPlan[]): string[] {
  const first = provisioners.findIndex((p) => p.type === "ansible");
  return first < 0 ? [] : provisioners.slice(0, first + 1).map((p) => p.type);
}

/** Every cacheable step of the plan, in the order the provision stage runs them. */
export async function cacheableSteps(ctx: StageContext, plan: BuildPlan): Promise<KeyedStepInput[]> {
  const steps: KeyedStepInput[] = [
    {
      step: "packages",
      content: {
        packages: plan.packages,
        bootPackages: hasDiskFormat(plan),
        // Python is installed for Ansible depending on the provisioners up to the first ansible one.
        pythonFor: pythonDecidingTypes(plan.provisioners),
      },
    },
  ];
  if (plan.files.length > 0) {
    const files = await Promise.all(
      plan.files.map(async (f) => ({
        path: f.path,
        mode: f.mode,
        sha256: await fileHash(path.join(ctx.planDir, f.asset)),
      })),
    );
    steps.push({ step: "files", content: { files } });
  }
  for (const [index, p] of plan.provisioners.entries()) {
    steps.push({ step: provisionerStepName(p), content: await provisionerContent(ctx, p, index) });
  }
  return steps;
}
