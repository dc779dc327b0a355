// GPT disk layout as pure arithmetic: where the ESP and the root filesystem go inside the disk file.
// Everything is aligned to 1 MiB, which every hypervisor, cloud import and SSD is happy with.

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
  rootX86_64: "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
} as const;

export interface Extent {
  /** Byte offset in the disk file. */
  offset: number;
  bytes: number;
}

export interface DiskLayout {
  /** The disk file's size: the requested size rounded up to a whole MiB (VHD for Azure needs that too). */
  diskBytes: number;
  esp: Extent;
  root: Extent;
}

export const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
export const roundDown = (n: number, to: number) => Math.floor(n / to) * to;

/** The ESP first, the root filesystem filling the rest up to the backup GPT. */
export function diskLayout(requestedBytes: number): DiskLayout {
  const diskBytes = roundUp(requestedBytes, ALIGN);
  const esp = { offset: ALIGN, bytes: ESP_BYTES };
  const rootOffset = esp.offset + esp.bytes;
  const rootEnd = roundDown(diskBytes - GPT_BACKUP_SECTORS * SECTOR, ALIGN);
  return { diskBytes, esp, root: { offset: rootOffset, bytes: Math.max(0, rootEnd - rootOffset) } };
}

/** Disk size (bytes, whole MiB) whose root partition holds `rootBytes`. */
export function diskBytesForRoot(rootBytes: number): number {
  return roundUp(ALIGN + ESP_BYTES + roundUp(rootBytes, ALIGN) + GPT_BACKUP_SECTORS * SECTOR, ALIGN);
}

export interface PartitionIds {
  diskGuid: string;
  espPartUuid: string;
  rootPartUuid: string;
}

/** Input for `sfdisk` (its script format); fixed GUIDs keep the same build byte-identical. */
export function sfdiskScript(layout: DiskLayout, ids: PartitionIds): string {
  const sectors = (n: number) => n / SECTOR;
  return [
    "label: gpt",
    `label-id: ${ids.diskGuid}`,
    "unit: sectors",
    `first-lba: ${sectors(ALIGN)}`,
    `start=${sectors(layout.esp.offset)}, size=${sectors(layout.esp.bytes)}, type=${PARTITION_TYPE.esp}, uuid=${ids.espPartUuid}, name="EFI System Partition"`,
    `start=${sectors(layout.root.offset)}, size=${sectors(layout.root.bytes)}, type=${PARTITION_TYPE.rootX86_64}, uuid=${ids.rootPartUuid}, name="root"`,
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
