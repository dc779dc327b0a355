// GPT disk layout as pure arithmetic: where the ESP and the root filesystem go inside the disk file.
// Everything is aligned to 1 MiB, which every hypervisor, cloud import and SSD is happy with.
import { bootFiles } from "../../plan/formats.js";

export const SECTOR = 512;
export const MiB = 2 ** 20;
export const ALIGN = MiB;
/** The backup GPT at the end of the disk: 32 sectors of entries plus the header. */
const GPT_BACKUP_SECTORS = 33;
/** FAT32 needs at least 65525 clusters; 64 MiB of 512-byte clusters leaves room for a big GRUB. */
export const ESP_BYTES = 64 * MiB;

/** GPT partition type GUIDs (UEFI spec and the Discoverable Partitions Specification). */
export const PARTITION_TYPE = {
  esp: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
  biosBoot: "21686148-6449-6E6F-744E-656564454649",
  rootX86_64: "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
} as const;

export interface Extent {
  /** Byte offset in the disk file. */
  offset: number;
  bytes: number;
}

export type BootMode = "uefi" | "bios" | "hybrid";

/** GRUB's i386-pc core image lives in its own partition on GPT; ~120 KiB today, 1 MiB leaves room. */
export const BIOS_BOOT_BYTES = MiB;

export interface DiskLayout {
  /** The disk file's size: the requested size rounded up to a whole MiB (VHD for Azure needs that too). */
  diskBytes: number;
  /** BIOS boot partition (bios, hybrid): GRUB's core image, no filesystem. */
  biosBoot?: Extent;
  /** EFI System Partition (uefi, hybrid). */
  esp?: Extent;
  root: Extent;
}

export const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
export const roundDown = (n: number, to: number) => Math.floor(n / to) * to;

const usesBios = (mode: BootMode) => bootFiles(mode).bios;
const usesEsp = (mode: BootMode) => bootFiles(mode).esp;

/** Bytes in front of the root partition: the GPT's first MiB, then the boot partitions. */
function headBytes(mode: BootMode): number {
  return ALIGN + (usesBios(mode) ? BIOS_BOOT_BYTES : 0) + (usesEsp(mode) ? ESP_BYTES : 0);
}

/** BIOS boot and/or ESP first, the root filesystem filling the rest up to the backup GPT. */
export function diskLayout(requestedBytes: number, mode: BootMode = "uefi"): DiskLayout {
  const diskBytes = roundUp(requestedBytes, ALIGN);
  const layout: DiskLayout = { diskBytes, root: { offset: 0, bytes: 0 } };
  let offset = ALIGN;
  if (usesBios(mode)) {
    layout.biosBoot = { offset, bytes: BIOS_BOOT_BYTES };
    offset += BIOS_BOOT_BYTES;
  }
  if (usesEsp(mode)) {
    layout.esp = { offset, bytes: ESP_BYTES };
    offset += ESP_BYTES;
  }
  const rootEnd = roundDown(diskBytes - GPT_BACKUP_SECTORS * SECTOR, ALIGN);
  layout.root = { offset, bytes: Math.max(0, rootEnd - offset) };
  return layout;
}

/** Disk size (bytes, whole MiB) whose root partition holds `rootBytes`. */
export function diskBytesForRoot(rootBytes: number, mode: BootMode = "uefi"): number {
  return roundUp(headBytes(mode) + roundUp(rootBytes, ALIGN) + GPT_BACKUP_SECTORS * SECTOR, ALIGN);
}

export interface PartitionIds {
  diskGuid: string;
  biosPartUuid: string;
  espPartUuid: string;
  rootPartUuid: string;
}

/** Input for `sfdisk` (its script format); fixed GUIDs keep the same build byte-identical. */
export function sfdiskScript(layout: DiskLayout, ids: PartitionIds): string {
  const sectors = (n: number) => n / SECTOR;
  const line = (e: Extent, type: string, uuid: string, name: string) =>
    `start=${sectors(e.offset)}, size=${sectors(e.bytes)}, type=${type}, uuid=${uuid}, name="${name}"`;
  return [
    "label: gpt",
    `label-id: ${ids.diskGuid}`,
    "unit: sectors",
    `first-lba: ${sectors(ALIGN)}`,
    ...(layout.biosBoot
      ? [line(layout.biosBoot, PARTITION_TYPE.biosBoot, ids.biosPartUuid, "BIOS boot")]
      : []),
    ...(layout.esp ? [line(layout.esp, PARTITION_TYPE.esp, ids.espPartUuid, "EFI System Partition")] : []),
    line(layout.root, PARTITION_TYPE.rootX86_64, ids.rootPartUuid, "root"),
    "",
  ].join("\n");
}

export interface TreeUsage {
  /** Bytes the tree's files occupy (allocated blocks, as `du` counts them). */
  bytes: number;
  inodes: number;
}

/**
 * A generous estimate of the ext4 filesystem size a tree needs: its blocks, one inode-table entry per
 * 16 KiB (mke2fs's default ratio) or per file if there are more, the journal and metadata slack.
 * Used to refuse early, with a useful message, a disk that is clearly too small.
 */
export function ext4BytesNeeded(tree: TreeUsage): number {
  const inodeBytes = 256;
  const data = tree.bytes * 1.05;
  const inodeTables = Math.max(tree.inodes * 1.2, tree.bytes / 16384) * inodeBytes;
  const journal = tree.bytes > 512 * MiB ? 64 * MiB : 32 * MiB;
  return roundUp(data + inodeTables + journal + 16 * MiB, MiB);
}
