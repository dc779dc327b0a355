import { lstat } from "node:fs/promises";

/** Whether anything (a dangling symlink included) is at `p`. */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
