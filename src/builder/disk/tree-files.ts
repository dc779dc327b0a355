// File edits inside the image tree. The tree's absolute symlinks point into the image, not at the
// build machine, so nothing here follows a symlink: a link in the way is removed, not written through.
import { lstat, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";

export function inTree(root: string, absolute: string): string {
  return path.join(root, ...absolute.split("/").filter(Boolean));
}

export async function lstatOrUndefined(file: string) {
  try {
    return await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Reads a regular file of the tree; a symlink or missing file reads as empty. */
export async function readTreeFile(file: string): Promise<string> {
  const stat = await lstatOrUndefined(file);
  return stat?.isFile() ? readFile(file, "utf8") : "";
}

export async function replaceFile(file: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await rm(file, { force: true });
  await writeFile(file, content, { mode, flag: "wx" });
}

export async function replaceSymlink(file: string, target: string): Promise<void> {
  await rm(file, { force: true });
  await symlink(target, file);
}
