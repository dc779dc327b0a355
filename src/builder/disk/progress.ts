// Parses `qemu-img convert -p` output, which redraws "    (12.34/100%)" with carriage returns.

/** The last percentage in a chunk of qemu-img progress output, if any. */
export function lastPercent(chunk: string): number | undefined {
  const matches = [...chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
  const last = matches[matches.length - 1];
  return last ? Number(last[1]) : undefined;
}
