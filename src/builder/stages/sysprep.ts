// Step `sysprep`: removes what identifies the build machine or one particular boot (machine id, SSH
// host keys, logs, caches, history) so every machine made from the image starts fresh, and refuses
// to package an image that still holds a build-time stand-in.
import { lstat, mkdir, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { remainingStandIns, STAND_IN_MARKER, standInsFor } from "../chroot/standins.js";
import {
  componentMatches,
  EMPTIED_DIRECTORIES,
  LOG_DIRECTORIES,
  REMOVED_GLOBS,
} from "../disk/sysprep-paths.js";
import { inTree, lstatOrUndefined, readTreeFile, replaceFile, replaceSymlink } from "../disk/tree-files.js";
import { StepError, workspacePaths, type StageContext, type Step } from "../stage.js";

const fail = (what: string) => new StepError("package", "sysprep", what);

async function entries(dir: string) {
  const stat = await lstatOrUndefined(dir);
  return stat?.isDirectory() ? readdir(dir, { withFileTypes: true }) : [];
}

/** Expands a glob inside the tree without following symlinks in the directories it walks. */
async function expand(rootfs: string, glob: string): Promise<string[]> {
  let matches = ["/"];
  for (const part of glob.split("/").filter(Boolean)) {
    const next: string[] = [];
    for (const dir of matches) {
      if (!part.includes("*")) {
        const candidate = path.posix.join(dir, part);
        if (await lstatOrUndefined(inTree(rootfs, candidate))) next.push(candidate);
        continue;
      }
      for (const e of await entries(inTree(rootfs, dir))) {
        if (componentMatches(part, e.name)) next.push(path.posix.join(dir, e.name));
      }
    }
    matches = next;
  }
  return matches;
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const e of await entries(dir)) await rm(path.join(dir, e.name), { recursive: true, force: true });
}

/** Removes files and links below `dir`, keeping the directories (services expect /var/log/apt etc.). */
async function removeFilesBelow(dir: string): Promise<void> {
  for (const e of await entries(dir)) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await removeFilesBelow(full);
    else await rm(full, { force: true });
  }
}

/**
 * An empty /etc/machine-id: systemd generates a new id at first boot. The D-Bus copy goes; Debian's
 * dbus package links it back to /etc/machine-id.
 */
async function resetMachineId(rootfs: string): Promise<void> {
  await replaceFile(inTree(rootfs, "/etc/machine-id"), "", 0o444);
}

/** SSH host keys are deleted; regenerate them on first boot unless something (cloud-init) already does. */
async function ensureHostKeysRegenerate(rootfs: string): Promise<void> {
  if (!(await lstatOrUndefined(inTree(rootfs, "/usr/sbin/sshd")))) return;
  const unit = "/etc/systemd/system/bib-ssh-host-keys.service";
  await replaceFile(
    inTree(rootfs, unit),
    [
      "[Unit]",
      "Description=Generate SSH host keys removed when the image was built",
      "Before=ssh.service",
      "ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key",
      "",
      "[Service]",
      "Type=oneshot",
      "ExecStart=/usr/bin/ssh-keygen -A",
      "",
      "[Install]",
      "WantedBy=ssh.service",
      "",
    ].join("\n"),
  );
  const wants = inTree(rootfs, "/etc/systemd/system/ssh.service.wants");
  await mkdir(wants, { recursive: true });
  await replaceSymlink(path.join(wants, "bib-ssh-host-keys.service"), unit);
}

/**
 * debootstrap copies the build machine's /etc/hostname and /etc/resolv.conf into the tree. Only
 * those copies are reset (a hostname or resolver the user set on purpose differs from the host's):
 * the hostname to Debian's "localhost", the resolver to empty until DHCP or cloud-init fills it.
 */
async function forgetBuildHost(rootfs: string): Promise<string[]> {
  const reset: string[] = [];
  const hostFile = async (file: string) => readFile(file, "utf8").catch(() => undefined);
  const hostname = inTree(rootfs, "/etc/hostname");
  if (
    (await lstatOrUndefined(hostname))?.isFile() &&
    (await readTreeFile(hostname)).trim() === os.hostname()
  ) {
    await replaceFile(hostname, "localhost\n");
    reset.push("/etc/hostname");
  }
  const resolv = inTree(rootfs, "/etc/resolv.conf");
  const hostResolv = await hostFile("/etc/resolv.conf");
  if (
    (await lstatOrUndefined(resolv))?.isFile() &&
    hostResolv !== undefined &&
    (await readTreeFile(resolv)) === hostResolv
  ) {
    await replaceFile(resolv, "");
    reset.push("/etc/resolv.conf");
  }
  return reset;
}

export const sysprep: Step = {
  name: "sysprep",
  stage: "package",
  async run(ctx: StageContext): Promise<void> {
    const { rootfs } = workspacePaths(ctx.workspace);
    if (!(await lstat(rootfs).catch(() => undefined))?.isDirectory()) throw fail(`no root tree at ${rootfs}`);
    // Exactly where the provision stage installs them (see standInsFor), so nothing can slip by.
    const standIns = (await remainingStandIns(rootfs, await standInsFor(rootfs))).sort();
    if (standIns.length > 0) {
      throw fail(
        `build-time stand-ins are still in the image (files marked ${STAND_IN_MARKER}): ${standIns.join(", ")}; ` +
          "the provision stage must remove them before packaging",
      );
    }
    await resetMachineId(rootfs);
    let removed = 0;
    for (const glob of REMOVED_GLOBS) {
      for (const match of await expand(rootfs, glob)) {
        await rm(inTree(rootfs, match), { recursive: true, force: true });
        removed++;
      }
    }
    for (const dir of EMPTIED_DIRECTORIES) await emptyDirectory(inTree(rootfs, dir));
    for (const dir of LOG_DIRECTORIES) await removeFilesBelow(inTree(rootfs, dir));
    await ensureHostKeysRegenerate(rootfs);
    const reset = await forgetBuildHost(rootfs);
    ctx.log.info(
      { removed, reset },
      "sysprep: machine id reset; host keys, caches, logs, temporary files and history removed",
    );
  },
};
