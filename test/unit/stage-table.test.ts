// The stage table is the one place a stage is declared: a stage added to it (here, in the test)
// shows up in the Job, in status.stage and in the builder's step lists with no other module changed.
import { readFileSync } from "node:fs";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { buildState } from "../../src/hooks/build-state.js";
import { statusParts } from "../../src/hooks/build-status.js";
import { newBuildJob } from "../../src/hooks/children/job.js";
import { resolvePlan, type BuildPlan } from "../../src/plan/plan.js";
import { readStageDoc, stageDocRows, STAGE_DOC_HEADER } from "../../src/plan/stage-doc.js";
import {
  ALL_MOUNTS,
  BUILD_CAPABILITIES,
  podLayout,
  STAGE_TABLE,
  stagesOfCondition,
  type StageEntry,
} from "../../src/plan/stage-table.js";
import type { RunnerStep } from "../../src/builder/runner.js";
import {
  buildSteps,
  CONTAINER_STEPS,
  stageCommandSteps,
  type ContainerSteps,
} from "../../src/builder/steps.js";
import { imageBuild, podOf, withJobStatus } from "../support/fixtures.js";

function plan(spec: Record<string, unknown> = {}): BuildPlan {
  const result = resolvePlan(imageBuild({ base: { debootstrap: { suite: "bookworm" } }, ...spec }));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

const names = { job: "debian-1234567890", configMap: "debian-1234567890" };
const options = { builderImage: "registry.test/bib/builder:1", timestamp: 1_800_000_000, labels: {} };
const publish: RunnerStep = { name: "publish", stage: "publish", run: async () => {} };
const stepNames = (steps: RunnerStep[]) => steps.map((s) => `${s.stage}/${s.name}`);

// A made-up stage: scans the packaged artifacts, reported as `validate`, with fewer capabilities
// and only the workspace mounted.
const scan: StageEntry<"scan"> = {
  container: "scan",
  stage: "validate",
  image: "builder",
  enabled: () => true,
  does: "scans the artifacts",
  runsWhen: "always",
  mounts: ["workspace"],
  chroot: false,
  security: { capabilities: ["DAC_OVERRIDE"], runAsRoot: true, readOnlyRootFilesystem: true },
};
const table = [...STAGE_TABLE.slice(0, -1), scan, STAGE_TABLE.at(-1)!];
const scanStep: RunnerStep = { name: "scan artifacts", stage: "validate", run: async () => {} };
const steps: Record<(typeof table)[number]["container"], ContainerSteps> = {
  ...CONTAINER_STEPS,
  scan: { steps: () => [scanStep] },
};

describe("a stage added to the table", () => {
  const p = plan({ validate: { boot: { enabled: false } } });
  const layout = podLayout(p, table);
  const observe = (job: V1Job, pod: V1Pod, now: string) =>
    buildState({
      job,
      pods: [pod],
      previous: {},
      buildId: p.buildId,
      timeoutSeconds: p.builder.timeoutSeconds,
      layout,
      now: new Date(now),
      redact: (text) => text,
    });

  it("becomes an init container of the Job, before the main container, with what its entry asks for", () => {
    const spec = newBuildJob(p, names, options, layout).spec!.template.spec!;
    expect(spec.initContainers!.map((c) => c.name)).toEqual(["base", "provision", "package", "scan"]);
    expect(spec.containers.map((c) => c.name)).toEqual(["publish"]);
    const container = spec.initContainers!.at(-1)!;
    expect(container.image).toBe(options.builderImage);
    expect(container.command).toEqual(["bib", "stage", "scan"]);
    expect(container.volumeMounts).toEqual([{ name: "workspace", mountPath: "/workspace" }]);
    expect(container.securityContext).toEqual({
      privileged: false,
      runAsUser: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"], add: ["DAC_OVERRIDE"] },
    });
  });

  it("is what status.stage says while its container runs", () => {
    const job = withJobStatus(newBuildJob(p, names, options, layout));
    const done = { exitCode: 0 };
    const pod = podOf(job, { base: done, provision: done, package: done, scan: { running: true } });
    const state = observe(job, pod, "2026-11-23T10:01:00Z");
    expect(state).toEqual({ kind: "running", stage: "validate" });
    expect(statusParts(p, state)?.stage).toBe("validate");
  });

  it("is a failure at its stage when its container fails", () => {
    const job = withJobStatus(newBuildJob(p, names, options, layout), "Failed");
    const done = { exitCode: 0 };
    const failed = { exitCode: 1, message: "validate: scan artifacts: found a secret" };
    const pod = podOf(job, { base: done, provision: done, package: done, scan: failed });
    const state = observe(job, pod, "2026-11-23T10:06:00Z");
    expect(state).toMatchObject({ kind: "failed", stage: "validate" });
  });

  it("runs its steps in `bib build`, in table order, and as `bib stage scan`", () => {
    expect(stepNames(buildSteps(p, publish, { table, steps })).slice(-3)).toEqual([
      "package/package",
      "validate/scan artifacts",
      "publish/publish",
    ]);
    expect(stepNames(stageCommandSteps("scan", p, publish, { table, steps }))).toEqual([
      "validate/scan artifacts",
    ]);
  });

  it("is refused by the builder without steps (the default map is exhaustive by type)", () => {
    expect(() => buildSteps(p, publish, { table, steps: CONTAINER_STEPS })).toThrow(
      "the builder has no steps for container scan",
    );
  });
});

describe("the default table", () => {
  it("lays out today's Pod: an image base is copied by inject-tools and the image's own container", () => {
    const containers = (spec: Record<string, unknown>) => {
      const { init, main } = podLayout(plan(spec));
      return [...init, main].map((c) => `${c.name}:${c.stage}:${c.image}`);
    };
    expect(containers({})).toEqual([
      "base:base:builder",
      "provision:provision:builder",
      "package:package:builder",
      "validate:validate:builder",
      "publish:publish:builder",
    ]);
    expect(
      containers({ base: { image: "registry.test/base:1" }, validate: { boot: { enabled: false } } }),
    ).toEqual([
      "inject-tools:base:builder",
      "base:base:base-image",
      "provision:provision:builder",
      "package:package:builder",
      "publish:publish:builder",
    ]);
  });

  it("mounts every volume in builder stages, only the workspace in the base image's container", () => {
    for (const entry of STAGE_TABLE) {
      expect(entry.mounts).toEqual(entry.image === "builder" ? ALL_MOUNTS : ["workspace"]);
    }
  });

  it("gives each base its own entry: debootstrap chroots, a tarball is only extracted", () => {
    const base = (spec: Record<string, unknown>) => podLayout(plan(spec)).init[0]!;
    expect(base({}).security.capabilities).toContain("SYS_ADMIN");
    const tarball = base({ base: { tarball: { url: "https://example.com/r.tar", sha256: "a".repeat(64) } } });
    expect(tarball.name).toBe("base");
    expect(tarball.security.capabilities).not.toContain("SYS_ADMIN");
    expect(BUILD_CAPABILITIES).toContain("SYS_ADMIN");
  });

  it("maps Built to base, provision and package, Validated and Published to one stage each", () => {
    expect(stagesOfCondition("Built")).toEqual(["base", "provision", "package"]);
    expect(stagesOfCondition("Validated")).toEqual(["validate"]);
    expect(stagesOfCondition("Published")).toEqual(["publish"]);
  });

  it("is the README's table of the build Pod's containers (run `npm run generate` after a change)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(readStageDoc(readme)).toEqual([STAGE_DOC_HEADER, ...stageDocRows()]);
  });
});
