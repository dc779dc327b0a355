// Whose ids a stage container runs with: /proc/self/uid_map and gid_map. With the build Pod's
// `hostUsers: false` the container has a user namespace of its own, and an image root only builds
// there when every id it uses is mapped: a chown to an unmapped id fails with EINVAL half-way
// through provisioning (useradd --uid 1500, a package's system user), and an unmapped owner in the
// base image reads as the overflow id. The kubelet maps 65536 ids per Pod; runtimes that map
// fewer (podman's `--userns=auto` default is 1024) are refused before the first step runs.
import { readFile } from "node:fs/promises";

/** One line of an id map: `size` ids from `inside` map to `outside`, ... */
export interface IdRange {
  inside: number;
  outside: number;
  size: number;
}

/** uid 0 to 65535: what a Debian root's files and users take (nobody is 65534). */
export const IMAGE_IDS = 65536;

export function parseIdMap(text: string): IdRange[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [inside, outside, size] = line.split(/\s+/).map(Number);
      if (![inside, outside, size].every((n) => Number.isSafeInteger(n))) {
        throw new Error(`not an id map line: "${line}"`);
      }
      return { inside: inside!, outside: outside!, size: size! };
    });
}

/** The first id below `IMAGE_IDS` that no range maps, or undefined when all of them are mapped. */
function firstUnmapped(ranges: readonly IdRange[]): number | undefined {
  let next = 0;
  for (const r of [...ranges].sort((a, b) => a.inside - b.inside)) {
    if (r.inside > next) break;
    next = Math.max(next, r.inside + r.size);
    if (next >= IMAGE_IDS) return undefined;
  }
  return next;
}

function describeMap(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.size}`).join(", ");
}

/**
 * Why the image root cannot be built with these id maps, or undefined. The node's own users
 * (`0 0 4294967295`) map everything, so only a user namespace that maps too few ids is refused.
 */
export function idMapProblem(maps: { uid: readonly IdRange[]; gid: readonly IdRange[] }): string | undefined {
  for (const [kind, ranges] of [
    ["uid", maps.uid],
    ["gid", maps.gid],
  ] as const) {
    const unmapped = firstUnmapped(ranges);
    if (unmapped === undefined) continue;
    return (
      `the container's user namespace leaves ${kind} ${unmapped} unmapped (${kind}_map "${describeMap(ranges)}"); ` +
      `an image root needs ${kind}s 0-${IMAGE_IDS - 1} (owners and users such as nobody, 65534), so files ` +
      `would get owners the build cannot give them. With spec.builder.hostUsers: false the node's runtime ` +
      `must map ${IMAGE_IDS} ids per Pod, as the kubelet does`
    );
  }
  return undefined;
}

export async function readIdMaps(): Promise<{ uid: IdRange[]; gid: IdRange[] }> {
  const [uid, gid] = await Promise.all([
    readFile("/proc/self/uid_map", "utf8"),
    readFile("/proc/self/gid_map", "utf8"),
  ]);
  return { uid: parseIdMap(uid), gid: parseIdMap(gid) };
}
