// Stage `provision`: packages, files, then each provisioner in order, all inside the image root
// prepared by a ChrootSession (mounts, stand-ins), which is undone at the end of the stage.
import { access, mkdir, readdir, readFile, rm, writeFile, chmod } from "node:fs/promises";
import path from "node:path";
import { hasDiskFormat } from "../../plan/formats.js";
import type { BuildPlan, ProvisionerPlan } from "../../plan/plan.js";
import { CommandError, run } from "../../util/exec.js";
import { pathExists } from "../../util/fs.js";
import { kernelPackages, needsKernel } from "../disk/boot-config.js";
import { ChrootSession } from "../chroot/session.js";
import { lineLogger, outputBuffer } from "../output-lines.js";
import { describeAnsibleFailure, parseAnsibleFailure } from "../provision/ansible-output.js";
import { inspectPython, noPythonMessage, pythonForAnsible } from "../provision/python.js";
import { provisionerStepName } from "../cache/keys.js";
import { cacheable } from "../cache/save.js";
import type { RunnerStep } from "../runner.js";
import { workspacePaths, type StageContext } from "../stage.js";

/**
 * Boot essentials added to spec.packages when a disk is built from a tree that lacks them; the
 * package stage's `bootable` step only checks and configures what is installed here.
 */
export function bootPackages(tree: { hasKernel: boolean; hasInit: boolean }): string[] {
  const extra: string[] = [];
  if (!tree.hasKernel) extra.push(...kernelPackages());
  if (!tree.hasInit) extra.push("systemd-sysv");
  return extra;
}

export function packagesToInstall(
  plan: Pick<BuildPlan, "packages" | "formats">,
  tree: { hasKernel: boolean; hasInit: boolean },
): string[] {
  const wanted = [...plan.packages, ...(hasDiskFormat(plan) ? bootPackages(tree) : [])];
  return [...new Set(wanted)];
}

export const APT_OPTIONS = [
  "-o",
  "Acquire::Retries=3",
  "-o",
  "APT::Keep-Downloaded-Packages=true",
  "-o",
  "Dpkg::Use-Pty=0",
  "-o",
  "Dpkg::Options::=--force-confdef",
  "-o",
  "Dpkg::Options::=--force-confold",
];

export function aptInstallArgs(packages: readonly string[]): string[] {
  return ["apt-get", ...APT_OPTIONS, "install", "-y", "--no-install-recommends", ...packages];
}

async function present(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

// In-image paths are checked with lstat (pathExists): Debian's /sbin/init is an absolute symlink,
// which access() would resolve on the build host instead of in the image.
export async function inspectTree(rootfs: string) {
  const boot = await readdir(path.join(rootfs, "boot")).catch(() => [] as string[]);
  const hasKernel = !needsKernel(boot);
  const hasInit =
    (await pathExists(path.join(rootfs, "sbin/init"))) ||
    (await pathExists(path.join(rootfs, "usr/sbin/init")));
  return { hasKernel, hasInit };
}

export function aptCacheDir(ctx: Pick<StageContext, "cacheDir">): string | undefined {
  return ctx.cacheDir ? path.join(ctx.cacheDir, "apt", "archives") : undefined;
}

/** Scratch space for one build, outside the image root; removed by the runner's sweep. */
export function scratchDir(workspace: string): string {
  return path.join(workspace, ".scratch");
}

/** Shell that writes stdin to $1 with mode $2, parents created; fixed text, paths passed as arguments. */
const WRITE_FILE =
  'set -e; umask 022; mkdir -p "$(dirname "$1")"; cat > "$1"; chown 0:0 "$1"; chmod "$2" "$1"';

export function provisionSteps(plan: BuildPlan): RunnerStep[] {
  let session: ChrootSession | undefined;
  const need = () => {
    if (!session) throw new Error("the image root is not prepared");
    return session;
  };
  const steps: RunnerStep[] = [
    {
      name: "prepare chroot",
      stage: "provision",
      async run(ctx) {
        const rootfs = workspacePaths(ctx.workspace).rootfs;
        const cache = aptCacheDir(ctx);
        session = new ChrootSession(rootfs, { ...(cache ? { aptCacheDir: cache } : {}), signal: ctx.signal });
        await session.open();
      },
      async cleanup() {
        await session?.close();
      },
    },
    cacheable(
      {
        name: "packages",
        stage: "provision",
        async run(ctx) {
          const python = pythonForAnsible(plan.provisioners, await inspectPython(need().rootfs));
          if ("error" in python) throw new Error(python.error);
          if (python.install.length > 0) {
            ctx.log.info(
              { stage: "provision", step: "packages", packages: python.install },
              `the image has no Python, which the ansible provisioners need: installing ${python.install.join(" ")} (it stays in the image)`,
            );
          }
          const packages = [
            ...new Set([...packagesToInstall(plan, await inspectTree(need().rootfs)), ...python.install]),
          ];
          if (packages.length === 0) return;
          const out = lineLogger(ctx.log, { stage: "provision", step: "packages" });
          await need().exec(["apt-get", ...APT_OPTIONS, "update"], {
            onOutput: out.onOutput,
            captureStdout: false,
          });
          await need().exec(aptInstallArgs(packages), { onOutput: out.onOutput, captureStdout: false });
          out.flush();
          // A package may have replaced a stand-in with a newer real program.
          await need().ensureStandIns();
        },
      },
      need,
    ),
  ];
  if (plan.files.length > 0) {
    steps.push(
      cacheable(
        {
          name: "files",
          stage: "provision",
          async run(ctx) {
            for (const file of plan.files) {
              const content = await readFile(path.join(ctx.planDir, file.asset));
              await need().exec(["/bin/sh", "-c", WRITE_FILE, "sh", file.path, file.mode], {
                input: content,
              });
            }
          },
        },
        need,
      ),
    );
  }
  plan.provisioners.forEach((p, index) => {
    steps.push(
      cacheable(
        {
          name: provisionerStepName(p),
          stage: "provision",
          run: (ctx) =>
            p.type === "ansible" ? runAnsible(ctx, p, index, need()) : runShell(ctx, p, index, need()),
        },
        need,
      ),
    );
  });
  steps.push({
    name: "finish chroot",
    stage: "provision",
    async run() {
      await session?.close();
    },
  });
  return steps;
}

type AnsiblePlan = Extract<ProvisionerPlan, { type: "ansible" }>;
type ShellPlan = Extract<ProvisionerPlan, { type: "shell" }>;

async function resolvePlaybook(
  ctx: StageContext,
  p: AnsiblePlan,
  index: number,
  scratch: string,
): Promise<string> {
  const source = p.playbook;
  const field = `spec.provisioners[${index}].ansible`;
  if (source.source === "asset") return path.join(ctx.planDir, source.asset);
  if (source.source === "configMap") {
    const file = path.join(ctx.configMapsDir, source.name, source.key);
    if (!(await present(file))) {
      throw new Error(`${field}.configMapRef: ConfigMap "${source.name}" has no key "${source.key}"`);
    }
    return file;
  }
  const checkout = path.join(scratch, "git");
  const args = [
    "clone",
    "--depth",
    "1",
    ...(source.ref ? ["--branch", source.ref] : []),
    "--",
    source.url,
    checkout,
  ];
  await run("git", args, { signal: ctx.signal, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
  const playbook = path.resolve(checkout, source.path);
  if (!playbook.startsWith(checkout + path.sep) || !(await present(playbook))) {
    throw new Error(`${field}.git.path: ${source.path} is not in ${source.url}`);
  }
  return playbook;
}

/** Only what Ansible needs: the build's own environment (credentials) never reaches the image. */
export function ansibleEnv(scratch: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: scratch,
    LANG: "C.UTF-8",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_STDOUT_CALLBACK: "default",
    ANSIBLE_CALLBACK_RESULT_FORMAT: "json",
    ANSIBLE_HOST_KEY_CHECKING: "False",
    ANSIBLE_RETRY_FILES_ENABLED: "False",
    ANSIBLE_DEPRECATION_WARNINGS: "False",
    ANSIBLE_PYTHON_INTERPRETER: "auto_silent",
    ANSIBLE_LOCAL_TEMP: path.join(scratch, "ansible-local"),
    ANSIBLE_REMOTE_TMP: "/tmp/.bib-ansible",
    ANSIBLE_CONFIG: path.join(scratch, "ansible.cfg"),
  };
}

export function ansibleArgs(rootfs: string, playbook: string, varFiles: readonly string[]): string[] {
  return ["-c", "chroot", "-i", `${rootfs},`, ...varFiles.flatMap((f) => ["-e", `@${f}`]), playbook];
}

async function runAnsible(ctx: StageContext, p: AnsiblePlan, index: number, session: ChrootSession) {
  // Checked again here: a shell provisioner before this one may have installed Python, or removed it.
  const python = await inspectPython(session.rootfs);
  if (!python.hasPython) throw new Error(noPythonMessage(index, p.name, python));
  const scratch = path.join(scratchDir(ctx.workspace), `provisioner-${index}`);
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  try {
    const playbook = await resolvePlaybook(ctx, p, index, scratch);
    const varsFile = path.join(scratch, "extra-vars.json");
    await writeFile(varsFile, JSON.stringify(p.extraVars), { mode: 0o600 });
    await writeFile(path.join(scratch, "ansible.cfg"), "[defaults]\n", { mode: 0o600 });
    const varFiles = [varsFile];
    if (p.extraVarsFile) varFiles.push(path.join(ctx.secretsDir, p.extraVarsFile));
    const out = lineLogger(ctx.log, { stage: "provision", step: p.name });
    const buffer = outputBuffer();
    try {
      // In the build's namespaces: Ansible's chroot connection runs every task from this process.
      const [cmd, ...args] = session.inBuildNamespace([
        "ansible-playbook",
        ...ansibleArgs(session.rootfs, playbook, varFiles),
      ]);
      await run(cmd!, args, {
        cwd: scratch,
        env: ansibleEnv(scratch),
        signal: ctx.signal,
        processGroup: true,
        captureStdout: false,
        onOutput: (chunk) => {
          buffer.add(chunk);
          out.onOutput(chunk);
        },
      });
    } catch (error) {
      out.flush();
      const failure = parseAnsibleFailure(buffer.text());
      if (failure && !ctx.signal.aborted) throw new Error(describeAnsibleFailure(failure), { cause: error });
      throw error;
    }
    out.flush();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function runShell(ctx: StageContext, p: ShellPlan, index: number, session: ChrootSession) {
  const inImage = `/tmp/bib-provisioner-${index}.sh`;
  const onHost = path.join(session.rootfs, inImage);
  await mkdir(path.dirname(onHost), { recursive: true });
  await writeFile(onHost, await readFile(path.join(ctx.planDir, p.asset)), { mode: 0o700 });
  await chmod(onHost, 0o700);
  const shell = (await pathExists(path.join(session.rootfs, "bin/bash"))) ? "/bin/bash" : "/bin/sh";
  const out = lineLogger(ctx.log, { stage: "provision", step: p.name });
  try {
    await session.exec([shell, inImage], { onOutput: out.onOutput, captureStdout: false });
  } catch (error) {
    if (error instanceof CommandError && !ctx.signal.aborted) {
      const status =
        error.exitCode === null
          ? `was killed by ${error.signalName}`
          : `exited with status ${error.exitCode}`;
      const lastLines = error.outputTail.split("\n").slice(-3).join(" | ");
      throw new Error(`script ${status}${lastLines ? `: ${lastLines}` : ""}`, { cause: error });
    }
    throw error;
  } finally {
    out.flush();
    await rm(onHost, { force: true });
  }
}
