// How the build Pod runs the plan: one init container per stage, so that the Pod's container
// states tell the sync hook which stage is running; the last stage runs in the main container and
// writes the build result to its termination message. Pure data: the Job renderer turns it into
// containers, the builder image implements each `bib stage <name>`.
import { POD_PATHS, type Stage } from "../api/constants.js";
import type { BuildPlan } from "./plan.js";

export interface StageContainer {
  /** Container name; also what `status.stage` is derived from. */
  name: string;
  stage: Stage;
  /** `builder` for the builder image, otherwise an image reference (the base image itself). */
  image: "builder" | string;
  command: string[];
}

export const TOOLS_DIR = `${POD_PATHS.workspace}/.tools`;

export function stageContainers(plan: Pick<BuildPlan, "base" | "validate">): {
  init: StageContainer[];
  main: StageContainer;
} {
  const bib = (stage: string) => ["bib", "stage", stage];
  const init: StageContainer[] = [];
  if (plan.base.type === "image") {
    // The kubelet pulls the base image; a static copier injected from the builder image copies its
    // filesystem into the workspace, so the base image needs no shell or tools of its own.
    init.push({ name: "inject-tools", stage: "base", image: "builder", command: bib("inject-tools") });
    init.push({
      name: "base",
      stage: "base",
      image: plan.base.image,
      command: [`${TOOLS_DIR}/bib-copy-rootfs`],
    });
  } else {
    init.push({ name: "base", stage: "base", image: "builder", command: bib("base") });
  }
  init.push({ name: "provision", stage: "provision", image: "builder", command: bib("provision") });
  init.push({ name: "package", stage: "package", image: "builder", command: bib("package") });
  if (plan.validate.boot.enabled) {
    init.push({ name: "validate", stage: "validate", image: "builder", command: bib("validate") });
  }
  return { init, main: { name: "publish", stage: "publish", image: "builder", command: bib("publish") } };
}

/**
 * The Linux capabilities the build Pod keeps (all others dropped). See README "Capabilities".
 * The e2e test runs a whole build with exactly this bounding set.
 */
export const BUILD_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "SETUID",
  "SETGID",
  "SETFCAP",
  "MKNOD",
  "SYS_CHROOT",
  "SYS_ADMIN",
] as const;
