// The ordered steps of a build, and which of them each container of the build Pod runs
// (`bib stage <name>`, see src/plan/pod-stages.ts). Locally, `bib build` runs them all in order.
import type { BuildPlan } from "../plan/plan.js";
import type { RunnerStep } from "./runner.js";
import { baseSteps, injectToolsStep, normalizeImageStep } from "./stages/base.js";
import { bootable } from "./stages/bootable.js";
import { packageStep } from "./stages/package.js";
import { hasDiskFormat, provisionSteps } from "./stages/provision.js";
import { sysprep } from "./stages/sysprep.js";
import { validate } from "./stages/validate.js";

export const STAGE_COMMANDS = [
  "base",
  "inject-tools",
  "provision",
  "package",
  "validate",
  "publish",
] as const;
export type StageCommand = (typeof STAGE_COMMANDS)[number];

export function packageSteps(plan: Pick<BuildPlan, "formats">): RunnerStep[] {
  return [...(hasDiskFormat(plan) ? [bootable] : []), sysprep, packageStep];
}

export function validateSteps(plan: Pick<BuildPlan, "validate">): RunnerStep[] {
  return plan.validate.boot.enabled ? [validate] : [];
}

/** Every step of a local build, in order, ending with the given publish step. */
export function buildSteps(plan: BuildPlan, publish: RunnerStep): RunnerStep[] {
  return [
    ...baseSteps(plan),
    ...provisionSteps(plan),
    ...packageSteps(plan),
    ...validateSteps(plan),
    publish,
  ];
}

/**
 * The steps one container of the build Pod runs. With an image base the kubelet pulls the image
 * and the injected copier fills the workspace, so `provision` first normalizes what it copied.
 */
export function stageCommandSteps(command: StageCommand, plan: BuildPlan, publish: RunnerStep): RunnerStep[] {
  switch (command) {
    case "base":
      if (plan.base.type === "image") {
        throw new Error(
          "base: an image base is copied by the base image's own container; run `bib stage inject-tools` before it",
        );
      }
      return baseSteps(plan);
    case "inject-tools":
      return [injectToolsStep];
    case "provision":
      return [...(plan.base.type === "image" ? [normalizeImageStep] : []), ...provisionSteps(plan)];
    case "package":
      return packageSteps(plan);
    case "validate":
      return validateSteps(plan);
    case "publish":
      return [publish];
  }
}
