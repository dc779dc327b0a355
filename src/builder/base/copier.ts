// An OCI image base in the build Pod: the kubelet pulls the base image and runs it as an init
// container whose only command is a copier injected from the builder image (`bib stage
// inject-tools`). The copier is a POSIX script run by Debian's static busybox, so the base image
// needs no shell or tools of its own. It copies the image's own filesystem into the workspace and
// records the container's mount table, so that the builder can drop what the container runtime
// mounted over the image (/etc/hosts, /etc/resolv.conf, secrets) — see normalizeImageRootfs.
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseMountPoints } from "../chroot/mountinfo.js";

export const COPIER_NAME = "bib-copy-rootfs";
export const BUSYBOX_NAME = "busybox";
/** Debian's busybox-static: one static binary, no libraries needed inside the base image. */
export const HOST_BUSYBOX = "/bin/busybox";
export const BASE_MOUNTS_STATE = "base-mounts.txt";

/** Top-level entries the copier never copies: kernel filesystems, scratch, and the Pod's volumes. */
export const COPIER_SKIP = ["proc", "sys", "dev", "run", "tmp", "workspace", "bib"] as const;

export function copierScript(toolsDir: string, rootfs: string, stateDir: string): string {
  const bb = `${toolsDir}/${BUSYBOX_NAME}`;
  return `#!${bb} sh
# bib: copies this container's filesystem (the base image) into the build workspace.
set -eu
bb=${bb}
dest=${rootfs}
$bb mkdir -p "$dest" ${stateDir}
$bb cat /proc/self/mountinfo > ${stateDir}/${BASE_MOUNTS_STATE}
# What this container really holds (compared with the stage table by the e2e test).
$bb grep CapEff /proc/self/status
cd /
for entry in * .[!.]*; do
  case "$entry" in
    ${COPIER_SKIP.join("|")}) continue ;;
  esac
  if [ -e "$entry" ] || [ -L "$entry" ]; then
    $bb tar -cf - "$entry" | $bb tar -xpf - --numeric-owner -C "$dest"
  fi
done
echo "bib: copied the base image into $dest"
`;
}

/**
 * Writes busybox and the copier into `toolsDir` (on this machine); the script names the paths as
 * the base container sees them (`podToolsDir`, `podRootfs`, `podStateDir`).
 */
export async function injectTools(
  toolsDir: string,
  podToolsDir: string,
  podRootfs: string,
  podStateDir: string,
  busybox = HOST_BUSYBOX,
): Promise<void> {
  await mkdir(toolsDir, { recursive: true });
  await copyFile(busybox, path.join(toolsDir, BUSYBOX_NAME));
  await chmod(path.join(toolsDir, BUSYBOX_NAME), 0o755);
  const script = copierScript(podToolsDir, podRootfs, podStateDir);
  await writeFile(path.join(toolsDir, COPIER_NAME), script, { mode: 0o755 });
}

/**
 * Paths inside the copied tree that were mount points in the base container (runtime-provided
 * files and volumes), excluding `/` and what the copier skipped anyway.
 */
export function runtimeMountsToDrop(mountinfo: string): string[] {
  return parseMountPoints(mountinfo).filter((p) => {
    const top = p.split("/")[1] ?? "";
    return p !== "/" && !(COPIER_SKIP as readonly string[]).includes(top);
  });
}

const DEFAULT_HOSTS = "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n";

/**
 * Shared by the local and the Pod path: makes an unpacked image a root filesystem the next stages
 * can use (kernel filesystem mount points, a world-writable /tmp, an /etc/hosts of its own).
 */
export async function normalizeImageRootfs(rootfs: string, stateDir: string): Promise<void> {
  const mountinfo = await readFile(path.join(stateDir, BASE_MOUNTS_STATE), "utf8").catch(() => "");
  for (const mountPoint of runtimeMountsToDrop(mountinfo)) {
    const target = path.join(rootfs, mountPoint);
    const s = await stat(target).catch(() => undefined);
    if (s?.isDirectory()) {
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
    } else if (s) {
      await rm(target, { force: true });
    }
  }
  for (const dir of ["proc", "sys", "dev", "run"]) await mkdir(path.join(rootfs, dir), { recursive: true });
  await mkdir(path.join(rootfs, "tmp"), { recursive: true });
  await chmod(path.join(rootfs, "tmp"), 0o1777);
  const hosts = path.join(rootfs, "etc/hosts");
  if (
    !(await stat(hosts).catch(() => undefined)) &&
    (await stat(path.join(rootfs, "etc")).catch(() => undefined))
  ) {
    await writeFile(hosts, DEFAULT_HOSTS, { mode: 0o644 });
  }
}
