// The BuildPlan as a zod schema, and its types derived from it: what plan.json holds (plus the
// assets beside it). Every part the spec already describes is the API's own schema (src/api/schema.ts),
// so a field added to the spec and carried into the plan is parsed the way the spec parses it; only
// the plan's own shapes (the typed base and provisioners, asset keys, Secret projections) are here.
import { z } from "zod";
import { API_VERSION } from "../api/constants.js";
import {
  baseSchema,
  builderSchema,
  diskSchema,
  imageBuildSpecSchema,
  publishSchema,
  validateSchema,
} from "../api/schema.js";

const spec = imageBuildSpecSchema.shape;
const specBase = baseSchema.shape;
const debootstrap = specBase.debootstrap.unwrap();

export const basePlanSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("image"), image: specBase.image.unwrap() }),
  debootstrap.extend({ type: z.literal("debootstrap"), include: debootstrap.shape.include.unwrap() }),
  specBase.tarball.unwrap().extend({ type: z.literal("tarball") }),
]);

/** An asset: a key of the ConfigMap and a file of the plan directory. */
const assetKey = z.string().min(1);

export const playbookSourceSchema = z.discriminatedUnion("source", [
  z.strictObject({ source: z.literal("asset"), asset: assetKey }),
  z.strictObject({ source: z.literal("configMap"), name: z.string().min(1), key: z.string().min(1) }),
  z.strictObject({
    source: z.literal("git"),
    url: z.string().min(1),
    ref: z.string().optional(),
    path: z.string().min(1),
  }),
]);

export const provisionerPlanSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("ansible"),
    name: z.string().min(1),
    playbook: playbookSourceSchema,
    extraVars: z.record(z.string(), z.unknown()),
    /** File in the secrets directory holding sensitive extra vars (JSON or YAML). */
    extraVarsFile: z.string().optional(),
  }),
  z.strictObject({ type: z.literal("shell"), name: z.string().min(1), asset: assetKey }),
]);

/** One key of the build's Secret: copied from `name`/`key` of a user Secret to `file`. */
export const secretProjectionSchema = z.strictObject({
  name: z.string().min(1),
  key: z.string().min(1),
  file: z.string().min(1),
  optional: z.boolean(),
});

/** Files of the secrets directory, in place of the spec's credentialsSecretRef. */
export const awsCredentialFilesSchema = z.strictObject({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
});

const publishTargets = publishSchema.shape;
export const publishPlanSchema = z.strictObject({
  volume: publishTargets.volume,
  s3: publishTargets.s3
    .unwrap()
    .omit({ credentialsSecretRef: true })
    .extend({ credentials: awsCredentialFilesSchema.optional() })
    .optional(),
  oci: publishTargets.oci
    .unwrap()
    .omit({ credentialsSecretRef: true })
    .extend({ credentials: z.strictObject({ dockerConfigJson: z.string() }).optional() })
    .optional(),
  aws: publishTargets.aws
    .unwrap()
    .omit({ credentialsSecretRef: true })
    .extend({ credentials: awsCredentialFilesSchema.optional() })
    .optional(),
});

const diskFields = diskSchema.shape;

/** plan.json: the plan without its assets. */
export const planDocumentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("BuildPlan"),
  imageBuild: z.strictObject({ name: z.string().min(1), namespace: z.string().min(1) }),
  buildId: z.string().min(1),
  /** Base name of every artifact file and of the build's children: `<name>-<id>`. */
  buildName: z.string().min(1),
  base: basePlanSchema,
  packages: spec.packages.unwrap(),
  files: z.array(z.strictObject({ path: z.string().min(1), mode: z.string(), asset: assetKey })),
  provisioners: z.array(provisionerPlanSchema),
  kernel: spec.kernel.unwrap(),
  disk: z.strictObject({
    sizeBytes: z.int().positive(),
    filesystem: diskFields.filesystem.unwrap(),
    bootMode: diskFields.bootMode.unwrap(),
  }),
  formats: spec.formats.unwrap(),
  validate: validateSchema,
  publish: publishPlanSchema,
  builder: builderSchema,
  deletionPolicy: spec.deletionPolicy.unwrap(),
  secrets: z.array(secretProjectionSchema),
});

export type BasePlan = z.output<typeof basePlanSchema>;
export type PlaybookSource = z.output<typeof playbookSourceSchema>;
export type ProvisionerPlan = z.output<typeof provisionerPlanSchema>;
export type SecretProjection = z.output<typeof secretProjectionSchema>;
export type AwsCredentialFiles = z.output<typeof awsCredentialFilesSchema>;
export type PublishPlan = z.output<typeof publishPlanSchema>;
export type PlanDocument = z.output<typeof planDocumentSchema>;
/** One command of spec.validate.boot.checks, run in the booted test VM. */
export type BootCheck = PlanDocument["validate"]["boot"]["checks"][number];

export interface BuildPlan extends PlanDocument {
  /** Inline playbooks, scripts and file contents, by the ConfigMap key they are stored under. */
  assets: Record<string, string>;
}
