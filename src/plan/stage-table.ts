// The build Pod's stages, declared once. Each entry is one container of the Pod: its name, the API
// stage it reports as, the image it runs, when the plan runs it and what it needs from the Pod. The
// Job renderer, status.stage, the stage conditions, `bib stage`/`bib build` and the README's stage
// table are all read from here. Pure data plus pure predicates over the plan.
import { CONDITION, POD_PATHS, STAGES, type ConditionType, type Stage } from "../api/constants.js";
import type { BuildPlan } from "./plan.js";

/**
 * The Linux capabilities a stage may keep (every other one is dropped). See README "Capabilities,
 * per stage". MKNOD is not among them: while debootstrap and the chroot run, the image root's /dev
 * is a tmpfs with the container's own nodes bound into it (which also works on a workspace mounted
 * `nodev`), and a tarball's (or a cached tree's) /dev entries are not extracted.
 */
export type Capability =
  | "CHOWN"
  | "DAC_OVERRIDE"
  | "FOWNER"
  | "FSETID"
  | "SETUID"
  | "SETGID"
  | "SETFCAP"
  | "SYS_CHROOT"
  | "SYS_ADMIN";

/** The Pod's volumes a stage may mount; each is mounted only when the plan has it (see job.ts). */
export type StageMount = "workspace" | "plan" | "secrets" | "configMaps" | "cache" | "output";

/** Every volume, in the order a container lists them. */
export const ALL_MOUNTS = [
  "workspace",
  "plan",
  "secrets",
  "configMaps",
  "cache",
  "output",
] as const satisfies readonly StageMount[];

/** The container's securityContext, as data: a stage that needs less says so here, not in code. */
export interface StageSecurity {
  capabilities: readonly Capability[];
  /**
   * uid 0 in the container, never `privileged`. Also where a stage holds no capability: the
   * workspace, the artifacts and the Secret files (mode 0400) belong to root.
   */
  runAsRoot: boolean;
  /** Unset means Kubernetes' default; `false` is refused together with CAP_SYS_ADMIN. */
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
}

/** Which image a container runs: the builder image, or the user's `spec.base.image` itself. */
export type StageImage = "builder" | "base-image";

export interface StageEntry<Container extends string = string> {
  container: Container;
  /** What `status.stage` says while this container runs. */
  stage: Stage;
  image: StageImage;
  /** Whether the plan runs this container. */
  enabled(plan: BuildPlan): boolean;
  /** For the README's table: what the container does, and when the plan runs it. */
  does: string;
  runsWhen: string;
  mounts: readonly StageMount[];
  /** Runs programs chrooted into the image tree (needs SYS_CHROOT and the chroot's mounts). */
  chroot: boolean;
  security: StageSecurity;
}

/** Decided here only: the kubelet pulls an image base, so its container runs the base image. */
export function isImageBase(plan: Pick<BuildPlan, "base">): boolean {
  return plan.base.type === "image";
}

const always = () => true;

/** Giving files their owners, modes and setgid bits as tar, dpkg and the copier do. */
const FILE_OWNERSHIP = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"] as const satisfies readonly Capability[];

/**
 * Stages that mount kernel filesystems into the image root and chroot into it: file ownership,
 * apt's `_apt` sandbox and useradd (SETUID/SETGID), setcap in postinsts (SETFCAP). The API server
 * refuses `allowPrivilegeEscalation: false` beside SYS_ADMIN, so it stays unset here.
 */
const MOUNTS_AND_CHROOTS: StageSecurity = {
  capabilities: [...FILE_OWNERSHIP, "SETUID", "SETGID", "SETFCAP", "SYS_CHROOT", "SYS_ADMIN"],
  runAsRoot: true,
};

/** No capability at all: reads and writes only what root owns. */
const NO_CAPABILITIES: StageSecurity = { capabilities: [], runAsRoot: true, allowPrivilegeEscalation: false };

/** In Pod order: init containers first, the last entry is the main container. */
export const STAGE_TABLE = [
  {
    container: "inject-tools",
    stage: "base",
    image: "builder",
    enabled: isImageBase,
    does: "puts the static copier into the workspace for the base image's container",
    runsWhen: "`spec.base.image`",
    mounts: ALL_MOUNTS,
    chroot: false,
    // Writes two files into the workspace, which its own uid owns.
    security: NO_CAPABILITIES,
  },
  {
    container: "base",
    stage: "base",
    image: "base-image",
    enabled: isImageBase,
    does: "the injected copier copies the base image's filesystem into `rootfs/`",
    runsWhen: "`spec.base.image`",
    // The base image's own container only needs the workspace, where the injected copier lives.
    mounts: ["workspace"],
    chroot: false,
    // The copier reads every file of the user's image (DAC_OVERRIDE) and keeps owners and modes.
    security: { capabilities: FILE_OWNERSHIP, runAsRoot: true, allowPrivilegeEscalation: false },
  },
  {
    container: "base",
    stage: "base",
    image: "builder",
    enabled: (plan) => plan.base.type === "debootstrap",
    does: "debootstrap into `rootfs/` (its second stage in a chroot, the build's /dev bound in)",
    runsWhen: "`spec.base.debootstrap`",
    mounts: ALL_MOUNTS,
    chroot: true,
    security: MOUNTS_AND_CHROOTS,
  },
  {
    container: "base",
    stage: "base",
    image: "builder",
    enabled: (plan) => plan.base.type === "tarball",
    does: "extracts the tarball into `rootfs/`",
    runsWhen: "`spec.base.tarball`",
    mounts: ALL_MOUNTS,
    chroot: false,
    // tar restoring owners, modes and `security.capability` xattrs; no mount, no chroot.
    security: {
      capabilities: [...FILE_OWNERSHIP, "SETFCAP"],
      runAsRoot: true,
      allowPrivilegeEscalation: false,
    },
  },
  {
    container: "provision",
    stage: "provision",
    image: "builder",
    enabled: always,
    does: "packages, files and provisioners in a chroot of `rootfs/`",
    runsWhen: "always",
    mounts: ALL_MOUNTS,
    chroot: true,
    security: MOUNTS_AND_CHROOTS,
  },
  {
    container: "package",
    stage: "package",
    image: "builder",
    enabled: always,
    does: "boot files, sysprep, the artifact files",
    runsWhen: "always",
    mounts: ALL_MOUNTS,
    chroot: false,
    // Sysprep and `mkfs.ext4 -d` read and remove files of other uids in the image root.
    security: { capabilities: ["DAC_OVERRIDE", "FOWNER"], runAsRoot: true, allowPrivilegeEscalation: false },
  },
  {
    container: "validate",
    stage: "validate",
    image: "builder",
    enabled: (plan) => plan.validate.boot.enabled,
    does: "boots the disk in QEMU and waits for the expected console lines",
    runsWhen: "`spec.validate.boot.enabled`",
    mounts: ALL_MOUNTS,
    chroot: false,
    security: NO_CAPABILITIES,
  },
  {
    container: "publish",
    stage: "publish",
    image: "builder",
    enabled: always,
    does: "publishes the artifacts, writes the result to the termination message",
    runsWhen: "always (main container)",
    mounts: ALL_MOUNTS,
    chroot: false,
    // Holds the cloud credentials: nothing beyond reading root's files.
    security: NO_CAPABILITIES,
  },
] as const satisfies readonly StageEntry[];

export type StageTable = readonly StageEntry[];

/**
 * Every capability some stage keeps: what `bib build` needs when it runs all stages in one process
 * (test/e2e/build.test.ts runs a whole local build with exactly this bounding set).
 */
export const BUILD_CAPABILITIES: readonly Capability[] = [
  ...new Set<Capability>(STAGE_TABLE.flatMap((e) => e.security.capabilities)),
].sort();
type DefaultEntry = (typeof STAGE_TABLE)[number];
/** Every container name of the build Pod. */
export type ContainerName = DefaultEntry["container"];
/** The containers that run `bib stage <name>` in the builder image. */
export type BuilderContainer = Extract<DefaultEntry, { image: "builder" }>["container"];

export const BUILDER_CONTAINERS = [
  ...new Set(STAGE_TABLE.filter((e) => e.image === "builder").map((e) => e.container)),
] as BuilderContainer[];

export const TOOLS_DIR = `${POD_PATHS.workspace}/.tools`;

/** One container of this plan's Pod. */
export interface PodContainer {
  name: string;
  stage: Stage;
  image: StageImage;
  command: string[];
  mounts: readonly StageMount[];
  security: StageSecurity;
}

export interface PodLayout {
  init: PodContainer[];
  main: PodContainer;
}

function podContainer(entry: StageEntry): PodContainer {
  return {
    name: entry.container,
    stage: entry.stage,
    image: entry.image,
    // The base image has no bib and maybe no shell: it runs the copier injected before it.
    command: entry.image === "builder" ? ["bib", "stage", entry.container] : [`${TOOLS_DIR}/bib-copy-rootfs`],
    mounts: entry.mounts,
    security: entry.security,
  };
}

/** The entries this plan runs, in order. */
export function enabledStages<E extends StageEntry>(plan: BuildPlan, table: readonly E[]): E[] {
  return table.filter((e) => e.enabled(plan));
}

/**
 * One init container per stage, so that the Pod's container states tell the sync hook which stage
 * is running; the last runs in the main container and writes the build result to its termination
 * message.
 */
export function podLayout(plan: BuildPlan, table: StageTable = STAGE_TABLE): PodLayout {
  const containers = enabledStages(plan, table).map(podContainer);
  const main = containers.pop();
  if (!main) throw new Error("the stage table enables no container for this plan");
  return { init: containers, main };
}

/** Container name -> the API stage it reports as; undefined for a container the layout lacks. */
export function stageOfContainer(layout: PodLayout, name: string): Stage | undefined {
  return [...layout.init, layout.main].find((c) => c.name === name)?.stage;
}

/** The condition that reports each API stage's outcome. */
export const STAGE_CONDITION = {
  base: CONDITION.Built,
  provision: CONDITION.Built,
  package: CONDITION.Built,
  validate: CONDITION.Validated,
  publish: CONDITION.Published,
} as const satisfies Record<Stage, ConditionType>;

/** The API stages a condition covers, in order (Built: base, provision, package). */
export function stagesOfCondition(type: ConditionType): Stage[] {
  return STAGES.filter((s) => STAGE_CONDITION[s] === type);
}
