// The root tree as a reproducible tarball: the same tree and timestamp give the same bytes.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { CommandError } from "../../util/exec.js";
import { writeHashed } from "./sha256.js";

/**
 * GNU tar options for a reproducible archive written to stdout: names sorted, owners numeric (the
 * build machine's passwd is irrelevant), xattrs (file capabilities) and ACLs kept, mtimes clamped
 * to the build's timestamp, and atime/ctime dropped from the pax headers that --xattrs turns on.
 *
 * ISA-L's igzip at its highest level writes plain gzip: on a 600 MB Debian tree it took 2.2 CPU
 * seconds where pigz -6 took 19, for a file 7% larger, and the tarball set the package stage's
 * length on two cores. Its bytes do not depend on the thread count; -n leaves the name and time
 * out of the gzip header.
 */
export function tarArgs(tree: string, timestamp: number, threads: number): string[] {
  return [
    "--create",
    "--file=-",
    `--directory=${tree}`,
    "--format=posix",
    "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
    "--numeric-owner",
    "--xattrs",
    "--xattrs-include=*",
    "--acls",
    "--sort=name",
    `--mtime=@${timestamp}`,
    "--clamp-mtime",
    "--one-file-system",
    `--use-compress-program=igzip -3 -n -T ${threads}`,
    ".",
  ];
}

export interface TarballOptions {
  signal?: AbortSignal;
  /** Compression threads; every core by default. The bytes are the same for any count. */
  threads?: number;
}

/** Writes the tarball and hashes its bytes on their way to the file: no second read to checksum it. */
export async function writeTarball(
  tree: string,
  output: string,
  timestamp: number,
  { signal, threads = availableParallelism() }: TarballOptions = {},
): Promise<{ size: number; sha256: string }> {
  const child = spawn("tar", tarArgs(tree, timestamp, threads), {
    stdio: ["ignore", "pipe", "pipe"],
    signal,
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (error) =>
      reject(new CommandError("tar", null, null, error.message, { cause: error })),
    );
    child.on("close", (code, sig) =>
      code === 0 ? resolve() : reject(new CommandError("tar", code, sig, stderr.trim())),
    );
  });
  const written = writeHashed(child.stdout, output, signal ? { signal } : {});
  // Both must settle: a failed tar ends its stdout early, which alone would look like success.
  const [wrote, ran] = await Promise.allSettled([written, exited]);
  if (ran.status === "rejected") throw ran.reason;
  if (wrote.status === "rejected") throw wrote.reason;
  return wrote.value;
}
