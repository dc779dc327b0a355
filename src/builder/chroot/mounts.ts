// Mounts made for a chroot, recorded so that they are undone in reverse order on success, failure
// and abort. The kernel's table is checked afterwards: a record can miss a mount, the kernel cannot.
import { run } from "../../util/exec.js";
import { currentMountsUnder } from "./mountinfo.js";

export interface MountSpec {
  target: string;
  /** Arguments to mount(8) before the target, e.g. ["-t", "proc", "proc"] or ["--bind", "/dev/null"]. */
  args: string[];
}

export class MountTable {
  private readonly mounted: string[] = [];

  async mount(spec: MountSpec): Promise<void> {
    await run("mount", [...spec.args, spec.target]);
    this.mounted.push(spec.target);
  }

  /**
   * Unmounts everything this table mounted, newest first, going on past failures: a mount still
   * busy is left to `unmountEverythingUnder`, and the kernel's table decides what is an error.
   */
  async unmountAll(): Promise<void> {
    while (this.mounted.length > 0) {
      const target = this.mounted.pop()!;
      await run("umount", [target]).catch(() => undefined);
    }
  }
}

/**
 * Unmounts whatever the kernel still has mounted under `root` (deepest first), lazily as a last
 * resort for a mount still busy because a killed program's child holds it. Returns what remains.
 */
export async function unmountEverythingUnder(root: string): Promise<string[]> {
  for (const target of await currentMountsUnder(root)) {
    try {
      await run("umount", [target]);
    } catch {
      await run("umount", ["--lazy", target]).catch(() => undefined);
    }
  }
  return currentMountsUnder(root);
}
