// Every name the operator writes into the cluster or reads back lives here, so that the hooks, the
// renderers, the harness and the docs agree on one spelling.

export const GROUP = "bib.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "ImageBuild";
export const PLURAL = "imagebuilds";
export const SINGULAR = "imagebuild";
export const SHORT_NAME = "ib";

export const ANNOTATION_REBUILD = "bib.dev/rebuild";

export const LABEL_IMAGEBUILD = "bib.dev/imagebuild";
export const LABEL_BUILD_ID = "bib.dev/build-id";
export const LABEL_COMPONENT = "app.kubernetes.io/component";
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABEL_PART_OF = "app.kubernetes.io/part-of";
export const MANAGED_BY = "bib-operator";

export const COMPONENT_BUILD = "build";
export const COMPONENT_CLEANUP = "cleanup";

export const CONDITION = {
  SpecValid: "SpecValid",
  SecretsResolved: "SecretsResolved",
  Built: "Built",
  Validated: "Validated",
  Published: "Published",
  Ready: "Ready",
} as const;
export type ConditionType = (typeof CONDITION)[keyof typeof CONDITION];

/** Every reason a condition of ImageBuild status gives: one word, CamelCase, as Kubernetes' own. */
export const REASON = {
  // SpecValid
  Valid: "Valid",
  InvalidSpec: "InvalidSpec",
  // SecretsResolved
  Resolved: "Resolved",
  NoSecretsReferenced: "NoSecretsReferenced",
  SecretNotFound: "SecretNotFound",
  SecretKeyNotFound: "SecretKeyNotFound",
  // Built, Validated, Published
  InProgress: "InProgress",
  NotReached: "NotReached",
  Built: "Built",
  BuildFailed: "BuildFailed",
  Booted: "Booted",
  BootFailed: "BootFailed",
  Disabled: "Disabled",
  Published: "Published",
  NoTargets: "NoTargets",
  PublishFailed: "PublishFailed",
  // Ready (also InvalidSpec and BuildFailed)
  SecretsNotResolved: "SecretsNotResolved",
  Pending: "Pending",
  Building: "Building",
  Succeeded: "Succeeded",
  JobDeleted: "JobDeleted",
} as const;
export type ConditionReason = (typeof REASON)[keyof typeof REASON];

export const PHASE = {
  Pending: "Pending",
  Building: "Building",
  Succeeded: "Succeeded",
  Failed: "Failed",
  Deleting: "Deleting",
} as const;
export type Phase = (typeof PHASE)[keyof typeof PHASE];

/** The five stages the API reports; internal steps map onto these. */
export const STAGES = ["base", "provision", "package", "validate", "publish"] as const;
export type Stage = (typeof STAGES)[number];

/** Where the build Pod finds its inputs; `bib build` lays out a local workspace the same way. */
export const POD_PATHS = {
  plan: "/bib/plan",
  secrets: "/bib/secrets",
  workspace: "/workspace",
  cache: "/var/cache/bib",
  configMaps: "/bib/configmaps",
  volume: "/bib/volume",
  terminationLog: "/dev/termination-log",
} as const;

export const PLAN_FILE = "plan.json";

/** Kubernetes allows at most 4096 bytes in a container's termination message. */
export const TERMINATION_MESSAGE_MAX_BYTES = 4096;
