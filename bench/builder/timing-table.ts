// Reads the stage timing table `bib build` prints at the end (src/builder/runner.ts timingTable).

export interface TimingRow {
  stage: string;
  step: string;
  outcome: string;
  seconds: number;
}

const ROW = /^(base|provision|package|validate|publish)\s+(.+?)\s+(ok|cached|failed|skipped)\s+([\d.]+)$/;

export function timingRows(stdout: string): TimingRow[] {
  const rows: TimingRow[] = [];
  for (const line of stdout.split("\n")) {
    const m = ROW.exec(line.trim());
    if (m) rows.push({ stage: m[1]!, step: m[2]!, outcome: m[3]!, seconds: Number(m[4]) });
  }
  return rows;
}

/** Seconds per stage: the sum of its steps. */
export function perStage(rows: readonly TimingRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.stage] = (out[r.stage] ?? 0) + r.seconds;
  return out;
}
