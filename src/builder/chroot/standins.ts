// Build-time stand-ins for programs that would reach a running system from a chroot: systemctl
// (no systemd runs in a chroot), the booted-machine programs of booted-standins.ts (they would fail
// or change the build host) and policy-rc.d (keeps package scripts from starting daemons). Each carries STAND_IN_MARKER,
// which sysprep checks for, and is replaced by the original at the end of provisioning.
import { lstat, readFile, rename, rm, writeFile, chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { pathExists } from "../../util/fs.js";
import {
  grubStandIn,
  hostDeviceStandIn,
  hostnamectlStandIn,
  journalctlStandIn,
  localectlStandIn,
  modprobeStandIn,
  mountStandIn,
  sysctlStandIn,
  timedatectlStandIn,
  udevadmStandIn,
} from "./booted-standins.js";
import { STAND_IN_MARKER } from "./stand-in-marker.js";

export { STAND_IN_MARKER };
/** Suffix of the original program while its stand-in is installed. */
export const ORIGINAL_SUFFIX = ".bib-orig";

/** Verbs that only read or write unit files: the real systemctl handles them without a running systemd. */
export const SYSTEMCTL_OFFLINE_VERBS = [
  "enable",
  "disable",
  "reenable",
  "is-enabled",
  "mask",
  "unmask",
  "preset",
  "preset-all",
  "link",
  "revert",
  "add-wants",
  "add-requires",
  "set-default",
  "get-default",
  "list-unit-files",
  "cat",
  "edit",
] as const;

/** Verbs that act on running units: nothing runs in a chroot, so they succeed and change nothing. */
export const SYSTEMCTL_RUNTIME_NOOP_VERBS = [
  "start",
  "stop",
  "restart",
  "reload",
  "try-restart",
  "reload-or-restart",
  "try-reload-or-restart",
  "condrestart",
  "daemon-reload",
  "daemon-reexec",
  "reset-failed",
  "kill",
] as const;

export function systemctlStandIn(realPath: string): string {
  return `#!/bin/sh
# ${STAND_IN_MARKER}: systemctl for a chroot build, removed before the image is packaged.
# Unit-file verbs go to the real systemctl (they work offline); verbs that need a running systemd
# are answered here, because a chroot has none to talk to.
real=${shQuote(realPath)}
verb=""
units=""
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) if [ -z "$verb" ]; then verb="$arg"; else units="$units $arg"; fi ;;
  esac
done
need_real() {
  if [ ! -x "$real" ]; then
    echo "systemctl: not installed in this image" >&2
    exit 127
  fi
}
unit_name() {
  case "$1" in
    *.*) echo "$1" ;;
    *) echo "$1.service" ;;
  esac
}
load_state() {
  for dir in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -e "$dir/$1" ]; then echo loaded; return; fi
  done
  echo not-found
}
case "$verb" in
  ${SYSTEMCTL_OFFLINE_VERBS.join("|")})
    need_real
    # The chroot's /run/systemd/system tells Ansible "booted"; systemctl must still work offline.
    SYSTEMD_OFFLINE=1 exec "$real" "$@" ;;
  ${SYSTEMCTL_RUNTIME_NOOP_VERBS.join("|")})
    exit 0 ;;
  is-active|is-failed)
    for u in $units; do echo inactive; done
    exit 3 ;;
  is-system-running)
    echo offline
    exit 1 ;;
  show)
    first=1
    for u in $units; do
      u=$(unit_name "$u")
      [ "$first" = 1 ] || echo
      first=0
      state=$(load_state "$u")
      enabled=$("$real" is-enabled "$u" 2>/dev/null || true)
      printf 'Id=%s\\nNames=%s\\nLoadState=%s\\nActiveState=inactive\\nSubState=dead\\nUnitFileState=%s\\n' \\
        "$u" "$u" "$state" "$enabled"
    done
    exit 0 ;;
  status)
    for u in $units; do
      u=$(unit_name "$u")
      printf '%s - %s\\n     Active: inactive (dead)\\n' "$u" "$(load_state "$u")"
    done
    exit 3 ;;
  list-units|list-jobs|list-timers|list-sockets)
    exit 0 ;;
  *)
    need_real
    SYSTEMD_OFFLINE=1 exec "$real" "$@" ;;
esac
`;
}

/** policy-rc.d's 101 tells invoke-rc.d "action not allowed": package scripts start no daemons. */
export const POLICY_RC_D = `#!/bin/sh
# ${STAND_IN_MARKER}: no daemon starts while the image is built.
exit 101
`;

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

export interface StandIn {
  /** Absolute path inside the image. */
  path: string;
  content(realPath: string): string;
}

async function isRealDir(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where a program lives in the image. With a merged /usr (/bin a symlink to usr/bin) the /usr path
 * is used, so that the build never follows a symlink out of the image root.
 */
export async function programPath(rootfs: string, dir: "bin" | "sbin", name: string): Promise<string> {
  if ((await isRealDir(path.join(rootfs, dir))) && (await pathExists(path.join(rootfs, dir, name)))) {
    return `/${dir}/${name}`;
  }
  return `/usr/${dir}/${name}`;
}

/** Programs that only make sense on the booted machine, with the stand-in text for each. */
const BOOTED_PROGRAMS: Array<[dir: "bin" | "sbin", name: string, content: (realPath: string) => string]> = [
  ["bin", "systemctl", systemctlStandIn],
  ["sbin", "modprobe", modprobeStandIn],
  ["sbin", "sysctl", sysctlStandIn],
  ["bin", "journalctl", journalctlStandIn],
  ["bin", "udevadm", udevadmStandIn],
  ["bin", "mount", mountStandIn],
  ["bin", "hostnamectl", hostnamectlStandIn],
  ["bin", "timedatectl", timedatectlStandIn],
  ["bin", "localectl", localectlStandIn],
  ["sbin", "swapon", () => hostDeviceStandIn("swapon")],
  ["sbin", "swapoff", () => hostDeviceStandIn("swapoff")],
  ["sbin", "fstrim", () => hostDeviceStandIn("fstrim")],
];

export async function standInsFor(rootfs: string): Promise<StandIn[]> {
  const standIns: StandIn[] = [];
  for (const [dir, name, content] of BOOTED_PROGRAMS) {
    standIns.push({ path: await programPath(rootfs, dir, name), content });
  }
  // GRUB's tools live in /usr/sbin (grub2-common); stood in even when the image has no GRUB, so a
  // role's update-grub handler succeeds: the bootable stage writes the boot loader.
  for (const name of ["update-grub", "grub-mkconfig", "grub-install"] as const) {
    standIns.push({ path: `/usr/sbin/${name}`, content: () => grubStandIn(name) });
  }
  standIns.push({ path: "/usr/sbin/policy-rc.d", content: () => POLICY_RC_D });
  return standIns;
}

async function hasMarker(file: string): Promise<boolean> {
  try {
    const s = await lstat(file);
    if (!s.isFile() || s.size > 64 * 1024) return false;
    return (await readFile(file, "utf8")).includes(STAND_IN_MARKER);
  } catch {
    return false;
  }
}

/**
 * Installs the stand-in unless it is in place. Idempotent: run again after a package step, because
 * a package may have replaced a stand-in with a new real program (which then becomes the original).
 */
export async function installStandIn(rootfs: string, standIn: StandIn): Promise<void> {
  const target = path.join(rootfs, standIn.path);
  if (await hasMarker(target)) return;
  await mkdir(path.dirname(target), { recursive: true });
  if (await pathExists(target)) await rename(target, target + ORIGINAL_SUFFIX);
  await writeFile(target, standIn.content(standIn.path + ORIGINAL_SUFFIX), { mode: 0o755 });
  await chmod(target, 0o755);
}

/** Removes the stand-in and puts the original back (unless a package replaced the stand-in). */
export async function removeStandIn(rootfs: string, standIn: StandIn): Promise<void> {
  const target = path.join(rootfs, standIn.path);
  const original = target + ORIGINAL_SUFFIX;
  if (await hasMarker(target)) {
    await rm(target, { force: true });
    if (await pathExists(original)) await rename(original, target);
  } else if (await pathExists(original)) {
    // A package installed a new real program over the stand-in: that one stays, the old goes.
    await rm(original, { force: true });
  }
}

/** Files under `rootfs` that still carry the marker among the known stand-in paths. */
export async function remainingStandIns(rootfs: string, standIns: readonly StandIn[]): Promise<string[]> {
  const left: string[] = [];
  for (const s of standIns) {
    if (await hasMarker(path.join(rootfs, s.path))) left.push(s.path);
  }
  return left;
}
