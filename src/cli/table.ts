// Plain-text tables of the CLI's summaries (artifacts, checks, cache entries).

/** Columns padded to their widest cell (the header row included), two spaces apart. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
}
