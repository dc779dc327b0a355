// Every decision about a format, next to each other: disk or not, how qemu-img names it, which one
// validation boots, what a disk needs to boot. The set of disk formats is the API's (src/api/schema.ts).
import { isDiskFormat, type DiskFormat, type Format } from "../api/schema.js";
import type { BuildPlan } from "./plan.js";

export { isDiskFormat, type DiskFormat };

/** The disk formats made by converting the raw disk with `qemu-img convert`. */
export type ConvertedFormat = Exclude<DiskFormat, "raw">;

export function diskFormats(formats: readonly Format[]): DiskFormat[] {
  return formats.filter(isDiskFormat);
}

/**
 * Whether the build makes a disk: then the tree needs a kernel and an init (installed with the base
 * or in provision's packages) and the package stage makes it bootable.
 */
export function hasDiskFormat(plan: Pick<BuildPlan, "formats">): boolean {
  return plan.formats.some(isDiskFormat);
}

/** qemu-img's and QEMU's name for each disk format (`-O`, `format=`). */
export const QEMU_FORMAT_NAME: Record<DiskFormat, string> = {
  qcow2: "qcow2",
  raw: "raw",
  vmdk: "vmdk",
  vhd: "vpc",
};

/** Preference order for booting a disk artifact in QEMU during validation. */
export const BOOT_FORMAT_PREFERENCE: readonly DiskFormat[] = ["qcow2", "raw", "vmdk", "vhd"];

/** The boot files a disk of this boot mode carries: an EFI System Partition, GRUB's BIOS images. */
export function bootFiles(mode: BuildPlan["disk"]["bootMode"]): { esp: boolean; bios: boolean } {
  return { esp: mode !== "bios", bios: mode !== "uefi" };
}
