// The boot configuration written into the image, as pure text rendering.
import { fatUuid, type DiskIds } from "./ids.js";

/** Kernel package installed when the tree has none (apt-based bases); cloud flavour: VM drivers only. */
export function kernelPackages(): string[] {
  return ["linux-image-cloud-amd64", "initramfs-tools"];
}

const KERNEL = /^vmlinuz-(.+)$/;

/** Whether a tree whose /boot holds these names lacks a kernel. */
export function needsKernel(bootListing: readonly string[]): boolean {
  return !bootListing.some((name) => KERNEL.test(name));
}

/** Compares kernel versions such as 6.1.0-28-cloud-amd64 piece by piece, numbers as numbers. */
export function compareKernelVersions(a: string, b: string): number {
  const split = (v: string) => v.split(/([0-9]+)/).filter((p) => p !== "");
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^[0-9]+$/.test(x) ? Number(x) : undefined;
    const ny = /^[0-9]+$/.test(y) ? Number(y) : undefined;
    const c = nx !== undefined && ny !== undefined ? nx - ny : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return 0;
}

export type KernelChoice =
  { ok: true; version: string; kernel: string; initrd: string } | { ok: false; reason: string };

/** The newest kernel in /boot that has its initramfs beside it. */
export function pickKernel(bootListing: readonly string[]): KernelChoice {
  const versions = bootListing
    .map((name) => KERNEL.exec(name)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort(compareKernelVersions);
  if (versions.length === 0) {
    return {
      ok: false,
      reason: `no kernel in /boot (no vmlinuz-*); install a kernel package such as ${kernelPackages()[0]}`,
    };
  }
  const newest = versions[versions.length - 1]!;
  const initrd = `initrd.img-${newest}`;
  if (!bootListing.includes(initrd)) {
    return {
      ok: false,
      reason: `kernel vmlinuz-${newest} has no /boot/${initrd}; install initramfs-tools (or run update-initramfs -c -k ${newest} in the tree)`,
    };
  }
  return { ok: true, version: newest, kernel: `vmlinuz-${newest}`, initrd };
}

/** tty0 for a screen, ttyS0 last so that it is /dev/console: boot validation reads the serial port. */
export const DEFAULT_CMDLINE = ["console=tty0", "console=ttyS0,115200n8"];

export function kernelCmdline(rootFsUuid: string, extra: readonly string[]): string {
  return [`root=UUID=${rootFsUuid}`, "ro", ...DEFAULT_CMDLINE, ...extra].join(" ");
}

export function renderFstab(ids: DiskIds, filesystem: "ext4" | "xfs", withEsp = true): string {
  const rootOptions = filesystem === "ext4" ? "defaults,errors=remount-ro" : "defaults";
  return [
    "# Written by bib: the root filesystem and the EFI System Partition, by filesystem UUID.",
    `UUID=${ids.rootFsUuid} / ${filesystem} ${rootOptions} 0 1`,
    // nofail: a missing ESP must not stop the machine from booting once GRUB has done its job.
    ...(withEsp ? [`UUID=${fatUuid(ids.espVolumeId)} /boot/efi vfat umask=0077,nofail 0 2`] : []),
    "",
  ].join("\n");
}

/**
 * The configuration built into GRUB's BIOS core image: find the root filesystem and hand over to
 * /boot/grub/grub.cfg there, with GRUB's modules beside it (core.img holds only what it needs to
 * get that far). Serial first, so a failure before that point is visible on the console.
 */
export function renderGrubEarlyCfg(rootFsUuid: string): string {
  return [
    "serial --unit=0 --speed=115200",
    "terminal_input console serial",
    "terminal_output console serial",
    `search --no-floppy --fs-uuid --set=root ${rootFsUuid}`,
    "set prefix=($root)/boot/grub",
    "",
  ].join("\n");
}

/**
 * The grub.cfg embedded in the standalone EFI binary. It cannot change after the build, so it boots
 * the /boot/vmlinuz and /boot/initrd.img links that the kernel's maintainer scripts move on update.
 */
export function renderGrubCfg(
  rootFsUuid: string,
  extraCmdline: readonly string[],
  timeoutSeconds = 1,
): string {
  return [
    "serial --unit=0 --speed=115200",
    "terminal_input console serial",
    "terminal_output console serial",
    `set timeout=${timeoutSeconds}`,
    "insmod part_gpt",
    "insmod ext2",
    "insmod xfs",
    `search --no-floppy --fs-uuid --set=root ${rootFsUuid}`,
    'menuentry "Linux" {',
    `  linux /boot/vmlinuz ${kernelCmdline(rootFsUuid, extraCmdline)}`,
    "  initrd /boot/initrd.img",
    "}",
    "",
  ].join("\n");
}

/**
 * /etc/kernel-img.conf with the kernel links kept in /boot (Debian's default puts them in /), so
 * that a kernel installed later by apt moves /boot/vmlinuz and /boot/initrd.img to itself.
 */
export function renderKernelImgConf(existing: string): string {
  const wanted: Record<string, string> = { do_symlinks: "yes", link_in_boot: "yes" };
  const seen = new Set<string>();
  const lines = existing
    .split("\n")
    .filter((line, i, all) => !(i === all.length - 1 && line === ""))
    .map((line) => {
      const key = /^\s*([a-z_]+)\s*=/.exec(line)?.[1];
      if (key === undefined || !(key in wanted)) return line;
      seen.add(key);
      return `${key} = ${wanted[key]}`;
    });
  for (const [key, value] of Object.entries(wanted)) if (!seen.has(key)) lines.push(`${key} = ${value}`);
  return `${lines.join("\n")}\n`;
}
