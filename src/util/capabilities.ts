// Names for the bits of a Linux capability set as /proc/<pid>/status shows it (CapEff, CapBnd):
// what a stage container really holds, logged when it starts.
import { readFile } from "node:fs/promises";

/** Bit n of a capability set is CAPABILITY_BITS[n] (linux/capability.h). */
const CAPABILITY_BITS = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
] as const;

/** The capability names in a hex set such as "00000000a80425fb", in bit order. */
export function capabilityNames(hex: string): string[] {
  const bits = BigInt(`0x${hex.trim()}`);
  return CAPABILITY_BITS.filter((_, i) => (bits >> BigInt(i)) & 1n);
}

/** One field (e.g. "CapEff") of /proc/<pid>/status text, as capability names. */
export function capabilitySet(status: string, field: "CapEff" | "CapPrm" | "CapBnd"): string[] {
  const line = status.split("\n").find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`no ${field} line in the process status`);
  return capabilityNames(line.slice(field.length + 1));
}

export async function effectiveCapabilities(): Promise<string[]> {
  return capabilitySet(await readFile("/proc/self/status", "utf8"), "CapEff");
}
