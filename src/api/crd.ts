// The ImageBuild CustomResourceDefinition, generated from the zod schema (the single source of truth)
// by `npm run generate`. z.toJSONSchema gives draft 2020-12 JSON Schema; the API server accepts only a
// *structural* OpenAPI v3 subset of it, so `toStructural` rewrites the few constructs that differ:
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
import { z } from "zod";
import { GROUP, KIND, PLURAL, SHORT_NAME, SINGULAR, VERSION } from "./constants.js";
import { imageBuildSpecSchema, imageBuildStatusSchema } from "./schema.js";

export type JsonSchema = { [key: string]: unknown };

export const CATEGORIES = ["bib"];

/**
 * Why the CRD has no `default:` anywhere: the buildId hashes the spec as stored. Defaults applied by
 * the API server would be stored, so an operator upgrade that adds or changes a default would change
 * the hash of every stored spec and rebuild every image. Defaults live in the zod schema and the plan.
 */
export const NO_DEFAULTS_NOTE =
  "Defaults are not applied by the API server (the CRD declares none): the operator applies them " +
  "when it plans a build, so that the build id, a hash of the spec as stored, does not change when " +
  "an operator upgrade changes a default.";

// Keys JSON Schema has and the CRD must not: `default` (see above), `propertyNames` (not in
// JSONSchemaProps; dropped), `$schema`.
const DROPPED_KEYS = new Set(["$schema", "default", "propertyNames"]);

// JS's safe-integer bounds that zod puts on every z.int(); they say nothing useful to the API server.
const isSafeIntBound = (v: unknown) => v === Number.MAX_SAFE_INTEGER || v === Number.MIN_SAFE_INTEGER;

// Readable, stable key order in the generated YAML; keys not listed follow in alphabetical order.
const KEY_ORDER = [
  "description",
  "type",
  "format",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "items",
  "properties",
  "required",
  "additionalProperties",
  "anyOf",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-validations",
];

function ordered(node: JsonSchema): JsonSchema {
  const rank = (k: string) => {
    const i = KEY_ORDER.indexOf(k);
    return i === -1 ? KEY_ORDER.length : i;
  };
  const keys = Object.keys(node).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return Object.fromEntries(keys.map((k) => [k, node[k]]));
}

/** Rewrites one zod JSON Schema node (and its children) into the structural form. */
export function toStructural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (DROPPED_KEYS.has(k)) continue;
    if ((k === "minimum" || k === "maximum") && isSafeIntBound(v)) continue;
    if (k === "properties") {
      const props = v as Record<string, JsonSchema>;
      out[k] = Object.fromEntries(Object.entries(props).map(([p, s]) => [p, toStructural(s)]));
    } else if (k === "items" || (k === "additionalProperties" && typeof v === "object")) {
      out[k] = toStructural(v as JsonSchema);
    } else {
      out[k] = v;
    }
  }
  // Closed objects are the API server's default (unknown fields are pruned, or rejected with strict
  // field validation); `additionalProperties: false` is not allowed.
  if (out.additionalProperties === false) delete out.additionalProperties;
  if (out["x-kubernetes-preserve-unknown-fields"] === true) {
    // An open object: `additionalProperties: {}` would be a node without a type.
    delete out.additionalProperties;
    out.type = "object";
  }
  if (out["x-kubernetes-int-or-string"] === true) {
    // The only anyOf a structural schema allows here, with value validations (pattern) beside it,
    // as controller-gen emits for resource.Quantity. The API server applies `pattern` to strings only.
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  return ordered(out);
}

function jsonSchema(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" }) as JsonSchema);
}

export function imageBuildOpenApiSchema(): JsonSchema {
  return ordered({
    description: `ImageBuild turns a declarative spec into bootable OS images. ${NO_DEFAULTS_NOTE}`,
    type: "object",
    required: ["spec"],
    properties: {
      apiVersion: ordered({ type: "string", description: "APIVersion of this object: bib.dev/v1alpha1." }),
      kind: ordered({ type: "string", description: "Kind of this object: ImageBuild." }),
      metadata: { type: "object" },
      spec: ordered({
        ...jsonSchema(imageBuildSpecSchema),
        description: `The image to build. ${NO_DEFAULTS_NOTE}`,
      }),
      status: ordered({
        ...jsonSchema(imageBuildStatusSchema),
        description:
          "Written by the operator through Metacontroller; every field it writes is declared here.",
      }),
    },
  });
}

const column = (name: string, jsonPath: string, description: string, extra: JsonSchema = {}) => ({
  name,
  type: "string",
  jsonPath,
  description,
  ...extra,
});

/**
 * Printer columns. The Image column shows the first published image's id (an AMI id such as ami-0abc,
 * what a Cluster API AWSMachineTemplate references); JSONPath has no fallback, so the first artifact's
 * location (pvc://, s3://, oci://) is a second column, shown with `-o wide`.
 */
export const PRINTER_COLUMNS = [
  column("Phase", ".status.phase", "Pending, Building, Succeeded, Failed or Deleting."),
  column("Stage", ".status.stage", "The build stage running: base, provision, package, validate or publish."),
  column("Image", ".status.images[0].imageId", "The first published image (e.g. an AMI id)."),
  column("Artifact", ".status.artifacts[0].location", "The first published artifact.", { priority: 1 }),
  column("Message", ".status.message", "Why the build is in its phase.", { priority: 1 }),
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

export function imageBuildCrd(): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [SHORT_NAME],
        categories: CATEGORIES,
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          // Metacontroller ignores a parent resource without the status subresource.
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS,
          schema: { openAPIV3Schema: imageBuildOpenApiSchema() },
        },
      ],
    },
  };
}
