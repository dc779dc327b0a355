// Identifiers of the disk and its filesystems, derived from the build id: the boot configuration
// written into the tree (fstab, grub.cfg) and the disk assembled later agree without passing state,
// and the same build gives the same bytes.
import { createHash } from "node:crypto";
import type { PartitionIds } from "./layout.js";

export interface DiskIds extends PartitionIds {
  rootFsUuid: string;
  /** FAT volume id, 8 upper-case hex digits; shown as XXXX-XXXX in /dev/disk/by-uuid and fstab. */
  espVolumeId: string;
}

function digest(buildId: string, purpose: string): Buffer {
  return createHash("sha256").update(`bib:${purpose}:${buildId}`).digest();
}

/** An RFC 4122 version-4-shaped UUID from a hash, so tools that check the variant accept it. */
function uuidFrom(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function diskIds(buildId: string): DiskIds {
  return {
    diskGuid: uuidFrom(digest(buildId, "disk")).toUpperCase(),
    biosPartUuid: uuidFrom(digest(buildId, "bios-partition")).toUpperCase(),
    espPartUuid: uuidFrom(digest(buildId, "esp-partition")).toUpperCase(),
    rootPartUuid: uuidFrom(digest(buildId, "root-partition")).toUpperCase(),
    rootFsUuid: uuidFrom(digest(buildId, "root-fs")),
    espVolumeId: digest(buildId, "esp-fs").subarray(0, 4).toString("hex").toUpperCase(),
  };
}

/** How fstab and /dev/disk/by-uuid spell a FAT volume id. */
export function fatUuid(volumeId: string): string {
  return `${volumeId.slice(0, 4)}-${volumeId.slice(4)}`;
}
