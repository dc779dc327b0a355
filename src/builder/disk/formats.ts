// Artifact file names and the qemu-img options behind each disk format.
import path from "node:path";
import type { Format } from "../../api/schema.js";
import { QEMU_FORMAT_NAME, type ConvertedFormat } from "../../plan/formats.js";

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

/**
 * `qemu-img convert` output options. qcow2 is left uncompressed: compression made the package
 * stage several times slower for a modest size gain (see the report in the package step). vhd is
 * the fixed subformat with the exact size, as Azure requires; vmdk is the default monolithicSparse.
 */
export function convertOptions(format: ConvertedFormat): string[] {
  const output = ["-O", QEMU_FORMAT_NAME[format]];
  return format === "vhd" ? [...output, "-o", "subformat=fixed,force_size=on"] : output;
}
