// Artifact file names and the qemu-img options behind each disk format.
import path from "node:path";
import type { Format } from "../../api/schema.js";

/** File extension per format: `.raw` rather than `.img` so the name says what the bytes are. */
export const FORMAT_EXTENSION: Record<Format, string> = {
  raw: "raw",
  qcow2: "qcow2",
  vmdk: "vmdk",
  vhd: "vhd",
  tgz: "tar.gz",
};

export function artifactFileName(buildName: string, format: Format): string {
  return `${buildName}.${FORMAT_EXTENSION[format]}`;
}

/** Where a file is written before it is complete; renamed to its final name only on success. */
export function partialFileName(buildName: string, format: Format): string {
  return `.${artifactFileName(buildName, format)}.partial`;
}

export function espDir(workspace: string): string {
  return path.join(workspace, "esp");
}

/** GRUB's BIOS images (boot.img, core.img) made by `bootable` for `package`. */
export function biosDir(workspace: string): string {
  return path.join(workspace, "bios");
}

export type DiskFormat = Exclude<Format, "raw" | "tgz">;

/**
 * `qemu-img convert` output options. qcow2 is left uncompressed: compression made the package
 * stage several times slower for a modest size gain (see the report in the package step). vhd is
 * the fixed subformat with the exact size, as Azure requires; vmdk is the default monolithicSparse.
 */
export function convertOptions(format: DiskFormat): string[] {
  switch (format) {
    case "qcow2":
      return ["-O", "qcow2"];
    case "vmdk":
      return ["-O", "vmdk"];
    case "vhd":
      return ["-O", "vpc", "-o", "subformat=fixed,force_size=on"];
  }
}

/** Preference order for booting a disk artifact in QEMU during validation. */
export const BOOT_FORMAT_PREFERENCE: Format[] = ["qcow2", "raw", "vmdk", "vhd"];

export const QEMU_FORMAT_NAME: Record<Exclude<Format, "tgz">, string> = {
  qcow2: "qcow2",
  raw: "raw",
  vmdk: "vmdk",
  vhd: "vpc",
};
