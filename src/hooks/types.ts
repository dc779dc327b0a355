// Metacontroller's webhook envelopes (CompositeController, hook versions v1 and v2). The server
// parses a request with these schemas once and hands the parsed value to the pure hook functions.
// Only the envelope is checked here: a bad ImageBuild spec is not a bad request (it is answered
// with SpecValid=False), so `spec` stays `unknown` until the plan resolves it.
import { z } from "zod";
import type { RecordedStatus } from "../api/status-entries.js";

const stringMap = z.record(z.string(), z.string());

const objectMetaSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().nullish(),
  labels: stringMap.nullish(),
  annotations: stringMap.nullish(),
});

export const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: objectMetaSchema,
});
export type KubeObject = z.infer<typeof kubeObjectSchema> & Record<string, unknown>;

export const parentSchema = kubeObjectSchema.extend({
  spec: z.unknown().optional(),
  status: z.unknown().optional(),
});
export type Parent = z.infer<typeof parentSchema>;

/** What is missing for `value` to be a Kubernetes object, as [path, message] pairs. */
function objectShapeIssues(value: unknown): Array<[string[], string]> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [[[], "must be an object"]];
  const o = value as Record<string, unknown>;
  const issues: Array<[string[], string]> = [];
  const text = (v: unknown) => typeof v === "string" && v !== "";
  if (!text(o.apiVersion)) issues.push([["apiVersion"], "required"]);
  if (!text(o.kind)) issues.push([["kind"], "required"]);
  const metadata = o.metadata as Record<string, unknown> | null | undefined;
  if (metadata === null || typeof metadata !== "object") issues.push([["metadata"], "required"]);
  else if (!text(metadata.name)) issues.push([["metadata", "name"], "required"]);
  return issues;
}

/**
 * Children and related objects are checked for shape only, without copying them: they come from
 * the API server, and a sync request carries many (Pods are large), so a deep parse would be most
 * of a request's cost.
 */
const observedObjectSchema = z.unknown().superRefine((value, ctx) => {
  for (const [path, message] of objectShapeIssues(value)) ctx.addIssue({ code: "custom", path, message });
}) as unknown as z.ZodType<KubeObject>;

/**
 * `Kind.apiVersion` -> (name with v1 hooks, `namespace/name` with v2) -> object. Metacontroller
 * sends `{}` for a type with no objects; some versions send null, which means the same.
 */
const objectMapSchema = z
  .record(z.string(), z.record(z.string(), observedObjectSchema).nullable())
  .nullish()
  .transform((groups) => {
    const out: Record<string, Record<string, KubeObject>> = {};
    for (const [type, objects] of Object.entries(groups ?? {})) out[type] = (objects ?? {}) as never;
    return out;
  });
export type ObjectMap = z.output<typeof objectMapSchema>;

const controllerSchema = z.looseObject({}).nullish();

export const syncRequestSchema = z.looseObject({
  controller: controllerSchema,
  parent: parentSchema,
  children: objectMapSchema,
  related: objectMapSchema,
  finalizing: z
    .boolean()
    .nullish()
    .transform((f) => f ?? false),
});
export type SyncRequest = z.output<typeof syncRequestSchema>;

export const customizeRequestSchema = z.looseObject({
  controller: controllerSchema,
  parent: parentSchema,
});
export type CustomizeRequest = z.output<typeof customizeRequestSchema>;

export interface HookOptions {
  /** Image that runs `bib stage ...` and `bib cleanup`, unless spec.builder.image overrides it. */
  builderImage: string;
}

export interface SyncResponse {
  status: RecordedStatus;
  children: KubeObject[];
  resyncAfterSeconds?: number;
  finalized?: boolean;
}

export interface RelatedResourceRule {
  apiVersion: string;
  resource: string;
  namespace?: string;
  labelSelector?: { matchLabels: Record<string, string> };
  names?: string[];
}

export interface CustomizeResponse {
  relatedResources: RelatedResourceRule[];
}
