// plan.json, the plan as the ConfigMap and the plan directory hold it (without `assets`, which are
// files beside it). One schema, so that every reader parses it the same way instead of casting.
import { z } from "zod";
import { API_VERSION } from "../api/constants.js";
import { builderSchema, FORMATS } from "../api/schema.js";
import { sortKeys } from "./canonical-json.js";
import type { BuildPlan } from "./plan.js";

const awsCredentialFiles = z.object({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
});

const planDocumentSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("BuildPlan"),
  imageBuild: z.object({ name: z.string(), namespace: z.string() }),
  buildId: z.string().min(1),
  buildName: z.string().min(1),
  base: z.discriminatedUnion("type", [
    z.object({ type: z.literal("image"), image: z.string() }),
    z.object({
      type: z.literal("debootstrap"),
      suite: z.string(),
      mirror: z.string().optional(),
      variant: z.string().optional(),
      include: z.array(z.string()),
    }),
    z.object({ type: z.literal("tarball"), url: z.string(), sha256: z.string() }),
  ]),
  packages: z.array(z.string()),
  files: z.array(z.object({ path: z.string(), mode: z.string(), asset: z.string() })),
  provisioners: z.array(
    z.discriminatedUnion("type", [
      z.object({
        type: z.literal("ansible"),
        name: z.string(),
        playbook: z.discriminatedUnion("source", [
          z.object({ source: z.literal("asset"), asset: z.string() }),
          z.object({ source: z.literal("configMap"), name: z.string(), key: z.string() }),
          z.object({
            source: z.literal("git"),
            url: z.string(),
            ref: z.string().optional(),
            path: z.string(),
          }),
        ]),
        extraVars: z.record(z.string(), z.unknown()),
        extraVarsFile: z.string().optional(),
      }),
      z.object({ type: z.literal("shell"), name: z.string(), asset: z.string() }),
    ]),
  ),
  kernel: z.object({ cmdline: z.array(z.string()) }),
  disk: z.object({
    sizeBytes: z.number().int().positive(),
    filesystem: z.enum(["ext4", "xfs"]),
    bootMode: z.enum(["uefi", "bios", "hybrid"]),
  }),
  formats: z.array(z.enum(FORMATS)).min(1),
  validate: z.object({
    boot: z.object({
      enabled: z.boolean(),
      timeoutSeconds: z.number(),
      expect: z.array(z.string()),
      checks: z.array(z.object({ name: z.string(), run: z.string() })),
    }),
  }),
  publish: z.object({
    volume: z.object({ claimName: z.string(), path: z.string() }).optional(),
    s3: z
      .object({
        bucket: z.string(),
        prefix: z.string(),
        region: z.string().optional(),
        endpoint: z.string().optional(),
        forcePathStyle: z.boolean().optional(),
        credentials: awsCredentialFiles.optional(),
      })
      .optional(),
    oci: z
      .object({
        repository: z.string(),
        tag: z.string(),
        insecure: z.boolean(),
        credentials: z.object({ dockerConfigJson: z.string() }).optional(),
      })
      .optional(),
    aws: z
      .object({
        region: z.string(),
        name: z.string(),
        description: z.string().optional(),
        architecture: z.enum(["x86_64", "arm64"]),
        bootMode: z.enum(["uefi", "legacy-bios", "uefi-preferred"]),
        copyToRegions: z.array(z.string()),
        shareWithAccounts: z.array(z.string()),
        public: z.boolean(),
        tags: z.record(z.string(), z.string()),
        credentials: awsCredentialFiles.optional(),
      })
      .optional(),
  }),
  builder: builderSchema,
  deletionPolicy: z.enum(["Retain", "Delete"]),
  secrets: z.array(z.object({ name: z.string(), key: z.string(), file: z.string(), optional: z.boolean() })),
});

export type PlanDocument = Omit<BuildPlan, "assets">;

// The schema and the BuildPlan interface describe the same document: each is assignable to the other.
type Parsed = z.output<typeof planDocumentSchema>;
const _schemaFitsPlan = (p: Parsed): PlanDocument => p;
const _planFitsSchema = (p: PlanDocument): Parsed => p;
void _schemaFitsPlan;
void _planFitsSchema;

/** plan.json's text: the plan without its inline contents, which sit beside it as keys/files of their own. */
export function planDocument(plan: BuildPlan): string {
  const { assets: _assets, ...rest } = plan;
  return `${JSON.stringify(sortKeys(rest), null, 2)}\n`;
}

/** Parses plan.json's text; the error names the file and the first field that is wrong. */
export function parsePlanDocument(text: string, file: string): PlanDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${file}: not JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = planDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file} is not a BuildPlan: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}
