// What the chroot's /proc shows in place of the build host's own state, so that a playbook (and
// Ansible's facts) see a freshly booted image: no modules loaded yet, no swap.

/** The build host's /proc/meminfo with its swap hidden: a booted image has none until it adds some. */
export function meminfoWithoutSwap(hostMeminfo: string): string {
  return hostMeminfo.replace(/^(Swap(?:Total|Free|Cached):\s*)\d+/gm, (_, label: string) => `${label}0`);
}

/** /proc/swaps with no swap in use (the header line only, as the kernel prints it). */
export const PROC_SWAPS_EMPTY = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

/**
 * The UTS name the build runs under: the image's /etc/hostname, unless that is a copy of the build
 * host's (debootstrap copies it), then Debian's default.
 */
export function buildHostname(imageHostname: string | undefined, hostHostname: string): string {
  const name = imageHostname?.split("\n")[0]?.trim() ?? "";
  return name === "" || name === hostHostname ? "localhost" : name;
}
