// The builder's steps for each container of the stage table (src/plan/stage-table.ts): what
// `bib stage <name>` runs in the build Pod, and, in table order, what `bib build` runs on one machine.
import { hasDiskFormat } from "../plan/formats.js";
import type { BuildPlan } from "../plan/plan.js";
import {
  BUILDER_CONTAINERS,
  enabledStages,
  isImageBase,
  STAGE_TABLE,
  type ContainerName,
  type StageTable,
} from "../plan/stage-table.js";
import type { RunnerStep } from "./runner.js";
import { cacheLookupStep } from "./cache/lookup.js";
import { skippedWhenRestored } from "./cache/save.js";
import { baseCacheIdentity, baseSteps, injectToolsStep, normalizeImageStep } from "./stages/base.js";
import { bootable } from "./stages/bootable.js";
import { packageStep } from "./stages/package.js";
import { provisionSteps } from "./stages/provision.js";
import { sysprep } from "./stages/sysprep.js";
import { validate } from "./stages/validate.js";

export interface ContainerSteps {
  steps(plan: BuildPlan, publish: RunnerStep): RunnerStep[];
  /** Prepares the base image's container, which `bib build` does not have: only the Pod runs it. */
  podOnly?: true;
}

/**
 * Every container's steps; a container of the table without an entry here does not compile. The
 * `base` entry also stands in, on one machine, for the base image's own container: there the
 * builder pulls the image the kubelet pulls in the Pod.
 */
export const CONTAINER_STEPS: Record<ContainerName, ContainerSteps> = {
  "inject-tools": { steps: () => [injectToolsStep], podOnly: true },
  // The cache lookup comes first: a restored provisioned tree makes the base and later steps "cached".
  base: {
    steps: (plan) =>
      isImageBase(plan) ? baseSteps(plan) : [cacheLookupStep(baseCacheIdentity), ...baseSteps(plan)],
  },
  // An image base was copied by a copier that cannot run the builder's code: provision first
  // normalizes what it copied (locally too, after `pull image`, so both runs are the same).
  provision: {
    // An image base's cache lookup runs here, once its own container has copied it.
    steps: (plan) => [
      ...(isImageBase(plan)
        ? [cacheLookupStep(baseCacheIdentity), skippedWhenRestored(normalizeImageStep)]
        : []),
      ...provisionSteps(plan),
    ],
  },
  package: { steps: (plan) => [...(hasDiskFormat(plan) ? [bootable] : []), sysprep, packageStep] },
  validate: { steps: () => [validate] },
  publish: { steps: (_plan, publish) => [publish] },
};

/** The stage table and the builder's steps for it; a test may pass its own pair. */
export interface Stages {
  table: StageTable;
  steps: Readonly<Record<string, ContainerSteps>>;
}

const DEFAULT_STAGES: Stages = { table: STAGE_TABLE, steps: CONTAINER_STEPS };

/** The names `bib stage` accepts: every container that runs in the builder image. */
export const STAGE_COMMANDS = BUILDER_CONTAINERS;
export type StageCommand = (typeof STAGE_COMMANDS)[number];

function stepsOf(stages: Stages, container: string): ContainerSteps {
  const found = stages.steps[container];
  if (!found) throw new Error(`the builder has no steps for container ${container}`);
  return found;
}

/** Every step of a local build, in the table's order, ending with the given publish step. */
export function buildSteps(
  plan: BuildPlan,
  publish: RunnerStep,
  stages: Stages = DEFAULT_STAGES,
): RunnerStep[] {
  return enabledStages(plan, stages.table).flatMap((entry) => {
    const container = stepsOf(stages, entry.container);
    return entry.image === "builder" && container.podOnly ? [] : container.steps(plan, publish);
  });
}

/** The steps one builder container of the build Pod runs (`bib stage <name>`). */
export function stageCommandSteps(
  name: string,
  plan: BuildPlan,
  publish: RunnerStep,
  stages: Stages = DEFAULT_STAGES,
): RunnerStep[] {
  const enabled = enabledStages(plan, stages.table);
  if (!enabled.some((e) => e.container === name && e.image === "builder")) {
    const pod = enabled.map((e) => e.container).join(", ");
    throw new Error(`${name}: this plan does not run ${name} in the builder image; its Pod runs ${pod}`);
  }
  return stepsOf(stages, name).steps(plan, publish);
}
