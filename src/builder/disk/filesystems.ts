// Writes the partition table and both filesystems straight into the disk file at their offsets:
// no loop device, no mount, no intermediate partition images to copy.
import { open, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { run } from "../../util/exec.js";
import type { DiskIds } from "./ids.js";
import { patchCoreImage, patchMbr } from "./bios-boot.js";
import { SECTOR, sfdiskScript, type DiskLayout, type Extent, type TreeUsage } from "./layout.js";

export const ROOT_LABEL = "bib-root";
export const ESP_LABEL = "ESP";
const EXT4_BLOCK = 4096;

export async function writePartitionTable(
  disk: string,
  layout: DiskLayout,
  ids: DiskIds,
  signal?: AbortSignal,
) {
  await run("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", disk], {
    input: sfdiskScript(layout, ids),
    signal,
  });
}

/** Thrown when mke2fs runs out of room populating the filesystem from the tree. */
export class FilesystemFullError extends Error {}

export async function writeExt4(
  disk: string,
  layout: DiskLayout,
  ids: DiskIds,
  tree: string,
  signal?: AbortSignal,
): Promise<void> {
  const blocks = Math.floor(layout.root.bytes / EXT4_BLOCK);
  const args = ["-q", "-F", "-t", "ext4", "-b", String(EXT4_BLOCK), "-L", ROOT_LABEL, "-U", ids.rootFsUuid];
  // nodiscard: discarding would punch holes relative to the file, not to the partition.
  args.push("-E", `offset=${layout.root.offset},nodiscard`, "-d", tree, disk, String(blocks));
  try {
    await run("mkfs.ext4", args, { signal, captureStdout: false });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/Could not allocate|No space left|not enough space|Could not allocate inode/i.test(text)) {
      throw new FilesystemFullError(text, { cause: error });
    }
    throw error;
  }
}

const mtoolsEnv = () => ({ ...process.env, MTOOLS_SKIP_CHECK: "1" });

/** A FAT32 ESP at its offset, filled with the contents of `espTree` (EFI/BOOT/BOOTX64.EFI). */
export async function writeEsp(
  disk: string,
  esp: Extent,
  ids: DiskIds,
  espTree: string,
  signal?: AbortSignal,
): Promise<void> {
  const offsetSectors = String(esp.offset / SECTOR);
  const kib = String(esp.bytes / 1024);
  // Cluster size and hidden sectors are given because mkfs.vfat would derive them from the whole
  // disk file: 4 KiB clusters leave too few for FAT32 in 64 MiB, and firmware reads hidden sectors.
  const geometry = ["-s", "1", "-S", String(SECTOR), "-h", offsetSectors];
  const args = ["-F", "32", ...geometry, "-n", ESP_LABEL, "-i", ids.espVolumeId, `--offset=${offsetSectors}`];
  await run("mkfs.vfat", [...args, disk, kib], { signal });
  const entries = (await readdir(espTree)).sort().map((e) => path.join(espTree, e));
  if (entries.length === 0) return;
  const image = `${disk}@@${esp.offset}`;
  await run("mcopy", ["-s", "-m", "-Q", "-i", image, ...entries, "::/"], { signal, env: mtoolsEnv() });
}

/** Space and inodes the tree takes, without crossing into other filesystems mounted inside it. */
export async function treeUsage(tree: string, signal?: AbortSignal): Promise<TreeUsage> {
  const first = (out: string) => Number(out.trim().split(/\s+/)[0]);
  // Two walks at once: the second mostly reads what the first just brought into the dentry cache.
  const [bytes, inodes] = await Promise.all(
    [["-B1"], ["--inodes"]].map(async (unit) =>
      first((await run("du", ["-s", "-x", ...unit, tree], { signal })).stdout),
    ),
  );
  return { bytes: bytes!, inodes: inodes! };
}

/** GRUB for BIOS: boot.img into the MBR code area, core.img into the BIOS boot partition. */
export async function writeBiosBoot(disk: string, biosBoot: Extent, biosTree: string): Promise<void> {
  const core = await readFile(path.join(biosTree, "core.img"));
  const boot = await readFile(path.join(biosTree, "boot.img"));
  if (core.length > biosBoot.bytes) {
    throw new Error(
      `GRUB core.img is ${core.length} bytes, more than the ${biosBoot.bytes}-byte BIOS boot partition`,
    );
  }
  const coreLba = biosBoot.offset / SECTOR;
  const handle = await open(disk, "r+");
  try {
    const mbr = Buffer.alloc(SECTOR);
    await handle.read(mbr, 0, SECTOR, 0);
    await handle.write(patchMbr(mbr, boot, coreLba), 0, SECTOR, 0);
    const patched = patchCoreImage(core, coreLba);
    await handle.write(patched, 0, patched.length, biosBoot.offset);
  } finally {
    await handle.close();
  }
}
