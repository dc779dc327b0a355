// QEMU for boot validation: the command line (pure) and a probe of whether KVM really works here.
import { run } from "../../util/exec.js";

export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
export const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";

export type Accel = "kvm" | "tcg";
/** OVMF for UEFI; SeaBIOS (QEMU's default firmware) for legacy BIOS. */
export type Firmware = "ovmf" | "seabios";

export function firmwaresFor(bootMode: "uefi" | "bios" | "hybrid"): Firmware[] {
  return bootMode === "uefi" ? ["ovmf"] : bootMode === "bios" ? ["seabios"] : ["ovmf", "seabios"];
}

export interface BootArgs {
  disk: string;
  /** qemu's name for the disk format (qcow2, raw, vmdk, vpc). */
  format: string;
  firmware: Firmware;
  /** A writable copy of OVMF's variable store (ovmf only). */
  vars?: string;
  accel: Accel;
  memoryMiB?: number;
  /** A Unix socket (QEMU listens) behind the guest's virtio-serial port `checkPort`. */
  checks?: { socket: string; port: string };
  /** QEMU's -nic value; none by default (a boot check needs no network). */
  nic?: string;
  /** The guest writes into the disk itself instead of a temporary overlay (not for artifacts). */
  writable?: boolean;
}

export function qemuBootArgs(o: BootArgs): string[] {
  return [
    "-machine",
    "q35",
    "-accel",
    o.accel,
    ...(o.accel === "kvm" ? ["-cpu", "host"] : []),
    "-m",
    String(o.memoryMiB ?? 1536),
    "-smp",
    "2",
    "-nodefaults",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-monitor",
    "none",
    "-nic",
    o.nic ?? "none",
    "-no-reboot",
    ...(o.firmware === "ovmf"
      ? [
          "-drive",
          `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
          "-drive",
          `if=pflash,format=raw,unit=1,file=${o.vars}`,
        ]
      : []),
    ...(o.checks
      ? [
          "-device",
          "virtio-serial-pci",
          "-chardev",
          `socket,id=bibchecks,path=${o.checks.socket},server=on,wait=off`,
          "-device",
          `virtserialport,chardev=bibchecks,name=${o.checks.port}`,
        ]
      : []),
    // snapshot=on: the guest's writes go to a temporary overlay; the artifact stays as built.
    "-drive",
    `file=${o.disk},format=${o.format},if=virtio,snapshot=${o.writable ? "off" : "on"}`,
  ];
}

let kvmVerdict: Promise<boolean> | undefined;

/**
 * Whether KVM can run OVMF on this machine. /dev/kvm existing is not enough: on some hosts KVM dies
 * inside the firmware ("KVM internal error"), so the probe runs the firmware without a disk and
 * waits for its boot manager to print. Asked once per process.
 */
export function kvmWorks(varsCopy: string, timeoutMs = 15_000): Promise<boolean> {
  kvmVerdict ??= probeKvm(varsCopy, timeoutMs);
  return kvmVerdict;
}

async function probeKvm(varsCopy: string, timeoutMs: number): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let output = "";
  let ok = false;
  try {
    const args = qemuBootArgs({
      disk: "/dev/null",
      format: "raw",
      firmware: "ovmf",
      vars: varsCopy,
      accel: "kvm",
      memoryMiB: 256,
    });
    // No disk: drop the last drive so the firmware goes straight to its boot manager.
    await run("qemu-system-x86_64", args.slice(0, -2), {
      signal: controller.signal,
      captureStdout: false,
      onOutput: (chunk) => {
        output += chunk;
        if (/BdsDxe|UEFI Interactive Shell/.test(output)) {
          ok = true;
          controller.abort();
        } else if (/KVM internal error|emulation failure/.test(output)) controller.abort();
      },
    });
  } catch {
    // Killed by us (verdict already in `ok`) or failed to start: either way the output decides.
  } finally {
    clearTimeout(timer);
  }
  return ok;
}
