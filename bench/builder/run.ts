// Builder benchmark (root): the reference build cold (empty package cache) and warm (cache reused),
// each with its stage timing table; then the package step on the warm build's tree against its
// lower bound measured in the same run (mkfs.ext4 -d of the same tree + qemu-img convert to qcow2).
//
//   sudo npx tsx bench/builder/run.ts [--warm-only]
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { readPlanDir, writePlanDir } from "../../src/builder/plan-dir.js";
import type { BuildPlan } from "../../src/plan/plan.js";
import { run } from "../../src/util/exec.js";
import { bib } from "../../test/e2e/support/bib-cli.js";
import { referenceImageBuild } from "../../test/e2e/support/reference-build.js";

interface Row {
  stage: string;
  step: string;
  seconds: number;
}

/** Rows of the timing table `bib build` prints. */
function timingRows(stdout: string): Row[] {
  const rows: Row[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^(base|provision|package|validate|publish)\s+(.+?)\s+(ok|failed|skipped)\s+([\d.]+)$/.exec(
      line.trim(),
    );
    if (m) rows.push({ stage: m[1]!, step: m[2]!, seconds: Number(m[4]) });
  }
  return rows;
}

function perStage(rows: Row[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.stage] = (out[r.stage] ?? 0) + r.seconds;
  return out;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

async function build(label: string, tmp: string, cache: string, keep: boolean) {
  const file = path.join(tmp, "reference.yaml");
  await writeFile(file, referenceImageBuild("bench"));
  const workspace = path.join(tmp, `ws-${label}`);
  const args = [
    "build",
    "-f",
    file,
    "--output",
    path.join(tmp, `out-${label}`),
    "--cache",
    cache,
    "--workspace",
    workspace,
  ];
  const result = await bib(keep ? [...args, "--keep-workspace"] : args);
  if (result.code !== 0) throw new Error(`${label} build failed: ${result.stderr}`);
  const rows = timingRows(result.stdout);
  console.log(`\n== ${label} reference build: ${result.seconds.toFixed(1)} s wall`);
  for (const r of rows)
    console.log(`  ${r.stage.padEnd(10)} ${r.step.padEnd(16)} ${r.seconds.toFixed(1).padStart(7)}`);
  console.log(`  per stage: ${JSON.stringify(perStage(rows))}`);
  return { wall: result.seconds, rows, workspace };
}

/** The package step alone (qcow2 only) on a kept workspace, as the Pod's `bib stage package` runs it. */
async function packageStep(tmp: string, workspace: string, plan: BuildPlan): Promise<number> {
  const planDir = path.join(tmp, "plan-qcow2");
  await writePlanDir(planDir, {
    ...plan,
    formats: ["qcow2"],
    validate: { boot: { enabled: false, timeoutSeconds: 600, expect: [], checks: [] } },
  });
  const result = await bib([
    "stage",
    "package",
    "--plan",
    planDir,
    "--workspace",
    path.join(workspace, "workspace"),
  ]);
  if (result.code !== 0) throw new Error(`bib stage package failed: ${result.stderr}`);
  for (const line of result.stdout.split("\n")) {
    if (!line.includes('"timings"')) continue;
    const { timings } = JSON.parse(line) as { timings: Array<{ step: string; seconds: number }> };
    const step = timings.find((t) => t.step === "package");
    if (step) return step.seconds;
  }
  throw new Error("no timing for the package step");
}

/** The least any packager must do: one ext4 image from the tree, converted to qcow2. */
async function lowerBound(tmp: string, tree: string, sizeBytes: number): Promise<number> {
  const img = path.join(tmp, "lb.img");
  const qcow2 = path.join(tmp, "lb.qcow2");
  const seconds = await timed(async () => {
    await run("truncate", ["-s", String(sizeBytes), img]);
    await run("mkfs.ext4", ["-q", "-F", "-t", "ext4", "-b", "4096", "-E", "nodiscard", "-d", tree, img]);
    await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", img, qcow2]);
  });
  await rm(img, { force: true });
  await rm(qcow2, { force: true });
  return seconds;
}

const warmOnly = process.argv.includes("--warm-only");
const tmp = await mkdtemp("/var/tmp/bib-bench-");
try {
  const cache = path.join(tmp, "cache");
  if (warmOnly) console.log("(--warm-only: the cache is warmed by an untimed first build)");
  const cold = await build(warmOnly ? "warm-up" : "cold", tmp, cache, false);
  const warm = await build("warm", tmp, cache, true);
  const tree = path.join(warm.workspace, "workspace/rootfs");
  const plan = await readPlanDir(path.join(warm.workspace, "bib/plan"));
  const pkg = await packageStep(tmp, warm.workspace, plan);
  const bound = await lowerBound(tmp, tree, plan.disk.sizeBytes);
  console.log("\n== summary");
  console.log(
    `  reference build cold: ${cold.wall.toFixed(1)} s   warm: ${warm.wall.toFixed(1)} s   (goal warm < 240 s)`,
  );
  console.log(
    `  package step (qcow2) ${pkg.toFixed(1)} s vs lower bound (mkfs.ext4 -d + qemu-img convert) ${bound.toFixed(1)} s: ratio ${(pkg / bound).toFixed(2)} (goal <= 1.1)`,
  );
} finally {
  await rm(tmp, { recursive: true, force: true });
}
