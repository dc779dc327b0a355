// The build Pod against `bib build` (issue 10): the same reference build (debootstrap, Ansible,
// shell, qcow2, boot validation), both cold (empty package and tree caches), once by `bib build`
// on this machine and once as the rendered Job's Pod in podman (`podman kube play`, the builder
// image scripts/images.sh builds from this checkout), stage by stage, with the Pod's time as a
// ratio of `bib build`'s. Then the builder image build: cold (no cached layer) and again with every
// layer cached, as a ratio of the cold build. The load average is printed with the numbers: the
// machine may be shared.
//
//   sudo npx tsx bench/builder/podman.ts [--skip-cold-image]
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { run } from "../../src/util/exec.js";
import { bib, REPO } from "../../test/e2e/support/bib-cli.js";
import {
  BUILDER_IMAGE,
  ensureImages,
  playablePod,
  podman,
  removePod,
  renderChildren,
  runPod,
} from "../../test/e2e/support/podman.js";
import { referenceImageBuild } from "../../test/e2e/support/reference-build.js";
import { perStage, timingRows } from "./timing-table.js";

const STAGES = ["base", "provision", "package", "validate", "publish"] as const;

/** The reference ImageBuild, qcow2 only (the Pod's workspace holds one disk), as the API server stores it. */
function referenceBuild(): { metadata: Record<string, unknown>; spec: Record<string, unknown> } {
  const ib = parse(referenceImageBuild("bench-podman")) as {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown>;
  };
  return {
    ...ib,
    metadata: { ...ib.metadata, namespace: "default", uid: "uid-bench-podman", generation: 1 },
    spec: { ...ib.spec, formats: ["qcow2"] },
  };
}

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
}

/** builder/Dockerfile as scripts/images.sh builds it; `cold` uses no cached layer. */
async function builderImageBuild(tag: string, cold: boolean): Promise<number> {
  return timed(() =>
    run(
      "podman",
      [
        "build",
        "--network",
        "host",
        cold ? "--no-cache" : "--layers",
        "--ignorefile",
        "builder/Dockerfile.dockerignore",
        "-f",
        "builder/Dockerfile",
        "--build-arg",
        "NODE_IMAGE=localhost/bib-node:22-bookworm",
        "-t",
        tag,
        ".",
      ],
      { cwd: REPO, captureStdout: true },
    ),
  );
}

async function localBuild(tmp: string): Promise<{ wall: number; stages: Record<string, number> }> {
  const file = path.join(tmp, "bench.yaml");
  await writeFile(file, stringify(referenceBuild()));
  const result = await bib([
    "build",
    "-f",
    file,
    "--output",
    path.join(tmp, "out"),
    "--cache",
    path.join(tmp, "cache"),
  ]);
  if (result.code !== 0) throw new Error(`bib build failed: ${result.stderr}`);
  return { wall: result.seconds, stages: perStage(timingRows(result.stdout)) };
}

async function podBuild(tmp: string): Promise<{ wall: number; stages: Record<string, number> }> {
  const playable = await playablePod(renderChildren(referenceBuild()), tmp);
  try {
    const pod = await runPod(playable, tmp);
    const failed = pod.containers.filter((c) => c.exitCode !== 0).map((c) => c.name);
    if (pod.playError || failed.length > 0)
      throw new Error(`the Pod failed (${failed.join(", ")}): ${pod.playError ?? ""}`);
    return { wall: pod.seconds, stages: Object.fromEntries(pod.containers.map((c) => [c.name, c.seconds])) };
  } finally {
    await removePod(playable);
  }
}

const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "-");
const cell = (n: number | undefined, width: number) => (n === undefined ? "-" : n.toFixed(1)).padStart(width);

const tmp = await mkdtemp("/var/tmp/bib-bench-podman-");
try {
  console.log(`load average at start: ${load()} (${os.cpus().length} cores)`);
  await ensureImages();

  const local = await localBuild(tmp);
  console.log(`bib build done (load ${load()})`);
  const pod = await podBuild(tmp);
  console.log(`podman Pod done (load ${load()})`);
  console.log("\nreference build, cold, qcow2 + boot validation");
  console.log(`stage       bib build (s)   podman Pod (s)   Pod / bib build`);
  for (const stage of STAGES) {
    const a = local.stages[stage];
    const b = pod.stages[stage];
    console.log(
      `${stage.padEnd(10)} ${cell(a, 14)} ${cell(b, 16)} ${(a && b ? ratio(b, a) : "-").padStart(17)}`,
    );
  }
  console.log(
    `${"wall".padEnd(10)} ${cell(local.wall, 14)} ${cell(pod.wall, 16)} ${ratio(pod.wall, local.wall).padStart(17)}`,
  );

  if (!process.argv.includes("--skip-cold-image")) {
    // A throwaway tag for the cold build, so that the tag the tests use keeps its cached layers.
    const coldTag = `${BUILDER_IMAGE}-bench-cold`;
    const cold = await builderImageBuild(coldTag, true);
    await podman(["rmi", coldTag]).catch(() => undefined);
    const cached = await builderImageBuild(BUILDER_IMAGE, false);
    console.log(
      `\nbuilder image (builder/Dockerfile): cold ${cold.toFixed(1)} s, every layer cached ${cached.toFixed(1)} s, ` +
        `cached / cold ${ratio(cached, cold)} (load ${load()})`,
    );
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
