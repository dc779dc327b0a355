// Legacy BIOS boot without grub-install (which wants a block device): GRUB's boot.img goes into the
// protective MBR's code area and its core.img into the BIOS boot partition, with the two sector
// pointers grub-bios-setup would patch. Pure byte arithmetic over buffers.

/** Where boot.img keeps the LBA of core.img's first sector (GRUB_BOOT_MACHINE_KERNEL_SECTOR). */
const KERNEL_SECTOR_OFFSET = 0x5c;
/** boot.img's floppy-probe jump; NOPed for hard disks as grub-bios-setup does. */
const DRIVE_CHECK_OFFSET = 0x66;
/** Bytes of MBR code before the disk signature and the partition table. */
const MBR_CODE_BYTES = 440;
/** diskboot.img's first block list entry, at the end of core.img's first sector: start(u64) len(u16). */
const BLOCKLIST_OFFSET = 512 - 12;

/** The MBR with GRUB's boot code, pointing at core.img; disk signature and partition table kept. */
export function patchMbr(mbr: Buffer, bootImg: Buffer, coreLba: number): Buffer {
  if (mbr.length !== 512 || bootImg.length !== 512) throw new Error("MBR and boot.img must be 512 bytes");
  const out = Buffer.from(mbr);
  bootImg.copy(out, 0, 0, MBR_CODE_BYTES);
  out.writeBigUInt64LE(BigInt(coreLba), KERNEL_SECTOR_OFFSET);
  out.writeUInt16LE(0x9090, DRIVE_CHECK_OFFSET);
  return out;
}

/** core.img whose first sector loads the rest of it from the sectors right after it. */
export function patchCoreImage(coreImg: Buffer, coreLba: number): Buffer {
  const out = Buffer.from(coreImg);
  const sectors = Math.ceil(out.length / 512);
  out.writeBigUInt64LE(BigInt(coreLba + 1), BLOCKLIST_OFFSET);
  out.writeUInt16LE(sectors - 1, BLOCKLIST_OFFSET + 8);
  return out;
}
