import { diskBytesForRoot, ext4BytesNeeded, MiB, type BootMode, type TreeUsage } from "./layout.js";

const mib = (bytes: number) => `${Math.ceil(bytes / MiB)}Mi`;

/** The message for a tree that does not fit: what was asked, what the tree takes, what would do. */
export function tooSmallMessage(requestedBytes: number, tree: TreeUsage, mode: BootMode = "uefi"): string {
  const needed = diskBytesForRoot(ext4BytesNeeded(tree), mode);
  return (
    `spec.disk.size ${mib(requestedBytes)} is too small for the root tree: the tree takes ${mib(tree.bytes)} ` +
    `(${tree.inodes} files) and needs a disk of at least ${mib(needed)}; raise spec.disk.size`
  );
}
