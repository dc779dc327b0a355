// The build host's state a provisioner must never change: kernel parameters, swap, hostname,
// loaded modules, time zone; and its mount points, compared separately because other builds on
// the machine mount and unmount meanwhile.
import { readFile, readlink } from "node:fs/promises";
import os from "node:os";

const SYSCTL_KEYS = ["net.ipv4.ip_forward", "vm.overcommit_memory", "vm.swappiness", "kernel.pid_max"];

export async function hostState() {
  const read = (f: string) => readFile(f, "utf8").catch(() => "<absent>");
  return {
    sysctl: await Promise.all(SYSCTL_KEYS.map((k) => read(`/proc/sys/${k.replaceAll(".", "/")}`))),
    swaps: await read("/proc/swaps"),
    hostname: os.hostname(),
    etcHostname: await read("/etc/hostname"),
    modules: await read("/proc/modules"),
    localtime: await readlink("/etc/localtime").catch(() => "<absent>"),
  };
}

export async function mountPoints(): Promise<string[]> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  return mountinfo
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => m !== undefined);
}
