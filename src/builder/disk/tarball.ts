// The root tree as a reproducible tarball: the same tree and timestamp give the same bytes.
import { run } from "../../util/exec.js";

/**
 * GNU tar options for a reproducible archive: names sorted, owners numeric (the build machine's
 * passwd is irrelevant), xattrs (file capabilities) and ACLs kept, mtimes clamped to the build's
 * timestamp, and atime/ctime dropped from the pax headers that --xattrs turns on. gzip -n leaves
 * the name and time out of the gzip header.
 */
export function tarArgs(tree: string, output: string, timestamp: number): string[] {
  return [
    "--create",
    `--file=${output}`,
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
    "--use-compress-program=gzip -n",
    ".",
  ];
}

export async function writeTarball(tree: string, output: string, timestamp: number, signal?: AbortSignal) {
  await run("tar", tarArgs(tree, output, timestamp), { signal, captureStdout: false });
}
