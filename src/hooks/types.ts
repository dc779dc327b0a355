// Metacontroller's webhook envelopes (CompositeController, hook versions v1 and v2). The server
// parses a request with these schemas once and hands the parsed value to the pure hook functions.
// Only the envelope is checked here: a bad ImageBuild spec is not a bad request (it is answered
// with SpecValid=False), so `spec` stays `unknown` until the plan resolves it.
import { z } from "zod";
import type { ImageBuildStatus } from "../api/schema.js";

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

/**
 * `Kind.apiVersion` -> (name with v1 hooks, `namespace/name` with v2) -> object. Metacontroller
 * sends `{}` for a type with no objects; some versions send null, which means the same.
 */
const objectMapSchema = z
  .record(z.string(), z.record(z.string(), kubeObjectSchema).nullable())
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

export interface SyncResponse {
  status: ImageBuildStatus;
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
