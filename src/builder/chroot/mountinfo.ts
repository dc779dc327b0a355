// Reads the kernel's mount table (/proc/self/mountinfo) so that teardown can prove nothing is left
// mounted under the workspace, whatever happened to our own record of mounts.
import { readFile } from "node:fs/promises";
import path from "node:path";

/** Field 5 of a mountinfo line is the mount point, with spaces and other specials as octal escapes. */
function unescapeOctal(raw: string): string {
  return raw.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points from mountinfo text, in the kernel's order (parents before children). */
export function parseMountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const raw = line.split(" ")[4];
    if (raw) points.push(unescapeOctal(raw));
  }
  return points;
}

/**
 * The per-mount options (field 6: `rw`, `nodev`, ...) of the mount stacked last at `point`, or
 * undefined when nothing is mounted exactly there. Tells whether the runtime gave the workspace
 * volume `nodev` or `noexec`.
 */
export function mountOptions(mountinfo: string, point: string): string[] | undefined {
  const at = mountinfo
    .split("\n")
    .map((line) => line.split(" "))
    .filter((fields) => fields[4] !== undefined && unescapeOctal(fields[4]) === point);
  return at.at(-1)?.[5]?.split(",");
}

/**
 * Mount points below `root`, deepest (most recently stacked) first: the order to unmount. `root`
 * itself is not one of them: in the build Pod the workspace is the Pod's volume, mounted by the
 * runtime, and a stage must neither unmount it nor count it as left behind.
 */
export function mountsUnder(points: readonly string[], root: string): string[] {
  const prefix = path.resolve(root);
  const inside = points.filter((p) => p.startsWith(prefix + "/"));
  return inside.reverse();
}

export async function currentMountsUnder(root: string): Promise<string[]> {
  return mountsUnder(parseMountPoints(await readFile("/proc/self/mountinfo", "utf8")), root);
}
