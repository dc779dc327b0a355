import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ObjectSerializer } from "@kubernetes/client-node/dist/serializer.js";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { parse } from "yaml";
import { imageBuildCrd, imageBuildOpenApiSchema, toStructural, type JsonSchema } from "../../src/api/crd.js";
import { CRD_PATH, renderCrdYaml } from "../../src/api/generate-crd.js";
import { imageBuildStatusSchema, type ImageBuildStatus } from "../../src/api/schema.js";
import { crdValidator, formatCrdErrors } from "../support/crd-validator.js";
import { imageBuild } from "../support/fixtures.js";

type Version = {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: object };
  additionalPrinterColumns: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
  schema: { openAPIV3Schema: JsonSchema };
};
const crd = imageBuildCrd() as {
  metadata: { name: string };
  spec: Record<string, unknown> & { versions: Version[] };
};
const version = crd.spec.versions[0]!;
const root = imageBuildOpenApiSchema();

// The fields of JSONSchemaProps (k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1) that a
// structural schema may use; anything else is rejected or silently dropped by the API server.
const ALLOWED_KEYS = new Set([
  "description",
  "type",
  "format",
  "title",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "items",
  "properties",
  "required",
  "additionalProperties",
  "anyOf",
  "nullable",
  "example",
  "externalDocs",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
]);
const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);
const INT_OR_STRING_ANY_OF = [{ type: "integer" }, { type: "string" }];
const ITERATING_MACRO = /\bself\.(all|exists|exists_one|filter|map)\(/;

interface Node {
  path: string;
  schema: JsonSchema;
  /** Arrays between the root and this node: each multiplies how often a rule here runs. */
  arrays: JsonSchema[];
}

/** Every schema node, depth first. */
function nodes(schema: JsonSchema, path = "", arrays: JsonSchema[] = []): Node[] {
  const out: Node[] = [{ path, schema, arrays }];
  for (const [k, s] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
    out.push(...nodes(s, `${path}.${k}`, arrays));
  }
  if (typeof schema.additionalProperties === "object") {
    out.push(...nodes(schema.additionalProperties as JsonSchema, `${path}[*]`, arrays));
  }
  if (schema.items) out.push(...nodes(schema.items as JsonSchema, `${path}[]`, [...arrays, schema]));
  return out;
}

/** What the API server's structural-schema check would say about one node (empty: fine). */
function structuralViolations({ path, schema }: Node): string[] {
  const v: string[] = [];
  const at = path || "<root>";
  for (const key of Object.keys(schema)) if (!ALLOWED_KEYS.has(key)) v.push(`${at}: ${key} is not allowed`);
  const intOrString = schema["x-kubernetes-int-or-string"] === true;
  if (intOrString) {
    if (schema.type !== undefined) v.push(`${at}: int-or-string must not set type`);
    if (JSON.stringify(schema.anyOf) !== JSON.stringify(INT_OR_STRING_ANY_OF))
      v.push(`${at}: int-or-string anyOf must be [integer, string]`);
  } else {
    if (!TYPES.has(schema.type as string)) v.push(`${at}: needs a type, has ${String(schema.type)}`);
    if (schema.anyOf !== undefined) v.push(`${at}: anyOf is only allowed for int-or-string`);
  }
  if (schema.additionalProperties === false) v.push(`${at}: additionalProperties: false is not allowed`);
  if (schema.additionalProperties !== undefined && schema.properties !== undefined)
    v.push(`${at}: properties and additionalProperties are mutually exclusive`);
  if (schema.type === "array" && !schema.items) v.push(`${at}: an array needs items`);
  if (schema["x-kubernetes-preserve-unknown-fields"] === true && schema.type !== "object")
    v.push(`${at}: preserve-unknown-fields here must be an object`);
  return v;
}

/** CEL cost estimation needs every iterated list and string bounded, and every enclosing list too. */
function celCostViolations({ path, schema, arrays }: Node): string[] {
  const rules = (schema["x-kubernetes-validations"] ?? []) as Array<{ rule: string; message: string }>;
  if (!rules.length) return [];
  const v: string[] = [];
  for (const a of arrays) if (a.maxItems === undefined) v.push(`${path}: an enclosing array has no maxItems`);
  for (const { rule, message } of rules) {
    if (!rule || !message) v.push(`${path}: every rule needs rule and message`);
    if (ITERATING_MACRO.test(rule) && schema.type === "array") {
      const items = schema.items as JsonSchema;
      if (schema.maxItems === undefined) v.push(`${path}: iterated by "${rule}" without maxItems`);
      if (items.type === "string" && items.maxLength === undefined && !items.enum)
        v.push(`${path}[]: strings compared by "${rule}" without maxLength or enum`);
    }
  }
  return v;
}

describe("crds/imagebuild.yaml", () => {
  it("is what `npm run generate` writes", () => {
    const committed = readFileSync(CRD_PATH, "utf8");
    expect(committed, "crds/imagebuild.yaml is stale: run `npm run generate` and commit it").toBe(
      renderCrdYaml(),
    );
  });

  it("parses back to the generated object, with a header saying it is generated", () => {
    const text = renderCrdYaml();
    expect(text.split("\n")[0]).toMatch(/^# Generated by `npm run generate`/);
    expect(parse(text)).toEqual(crd);
  });
});

describe("imageBuildCrd", () => {
  it("names the resource as the API contract does", () => {
    expect(crd.metadata.name).toBe("imagebuilds.bib.dev");
    expect(crd.spec).toMatchObject({
      group: "bib.dev",
      scope: "Namespaced",
      names: {
        kind: "ImageBuild",
        plural: "imagebuilds",
        singular: "imagebuild",
        shortNames: ["ib"],
        categories: ["bib"],
      },
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: "v1alpha1", served: true, storage: true });
  });

  it("is a valid apiextensions.k8s.io/v1 CustomResourceDefinition with no field the API server would drop", () => {
    expect(() => new CustomResourceDefinition(crd as never).validate()).not.toThrow();
    // client-node's typed model keeps only the fields the API knows (JSONSchemaProps included).
    const type = "V1CustomResourceDefinition";
    expect(ObjectSerializer.serialize(ObjectSerializer.deserialize(crd, type), type)).toEqual(crd);
  });

  it("has the status subresource, without which Metacontroller ignores the parent", () => {
    expect(version.subresources).toEqual({ status: {} });
  });

  it("prints Phase, Stage, the first image and Age by default, the first artifact with -o wide", () => {
    const columns = version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath, c.priority ?? 0]);
    expect(columns).toEqual([
      ["Phase", ".status.phase", 0],
      ["Stage", ".status.stage", 0],
      ["Image", ".status.images[0].imageId", 0],
      ["Artifact", ".status.artifacts[0].location", 1],
      ["Message", ".status.message", 1],
      ["Age", ".metadata.creationTimestamp", 0],
    ]);
    expect(version.additionalPrinterColumns.find((c) => c.name === "Age")?.type).toBe("date");
  });

  it("requires spec and declares apiVersion, kind, metadata, spec and status", () => {
    expect(root.required).toEqual(["spec"]);
    expect(Object.keys(root.properties as object)).toEqual([
      "apiVersion",
      "kind",
      "metadata",
      "spec",
      "status",
    ]);
  });

  it("is a structural schema", () => {
    const violations = nodes(root).flatMap(structuralViolations);
    expect(violations).toEqual([]);
    const text = JSON.stringify(root);
    for (const forbidden of [
      '"$schema"',
      '"$ref"',
      '"definitions"',
      '"$defs"',
      '"oneOf"',
      '"allOf"',
      '"not"',
    ])
      expect(text).not.toContain(forbidden);
  });

  it("has a structural check that catches what the API server rejects", () => {
    const bad: JsonSchema = {
      type: "object",
      properties: {
        untyped: {},
        closed: { type: "object", additionalProperties: false },
        both: { type: "object", properties: {}, additionalProperties: { type: "string" } },
        union: { anyOf: [{ type: "string" }, { type: "integer" }] },
        names: { type: "object", propertyNames: { type: "string" } },
        list: { type: "array" },
      },
    };
    expect(nodes(bad).flatMap(structuralViolations)).toEqual([
      ".untyped: needs a type, has undefined",
      ".closed: additionalProperties: false is not allowed",
      ".both: properties and additionalProperties are mutually exclusive",
      ".union: needs a type, has undefined",
      ".union: anyOf is only allowed for int-or-string",
      ".names: propertyNames is not allowed",
      ".list: an array needs items",
    ]);
  });

  it("uses only regular expressions Go's RE2 accepts (no lookaround, no backreferences)", () => {
    const patterns = nodes(root).flatMap((n) =>
      typeof n.schema.pattern === "string" ? [n.schema.pattern] : [],
    );
    expect(patterns.length).toBeGreaterThan(10);
    for (const p of patterns) {
      expect(p, p).not.toMatch(/\\(?:[1-9]|k<)|\(\?[=!<]/);
      expect(() => new RegExp(p, "u"), p).not.toThrow();
    }
  });

  it("declares no defaults, and says why (the buildId hashes the spec as stored)", () => {
    expect(
      nodes(root)
        .filter((n) => "default" in n.schema)
        .map((n) => n.path),
    ).toEqual([]);
    expect((root.properties as Record<string, JsonSchema>).spec!.description).toMatch(
      /build id.*hash of the spec/,
    );
  });

  it("keeps the CEL rules: exactly-one-of choices, unique formats and names, AWS tag keys, the spec's cross-field rules, the build Pod's label, resource and toleration rules", () => {
    const ruled = nodes(root)
      .filter((n) => n.schema["x-kubernetes-validations"])
      .map((n) => n.path);
    expect(ruled).toEqual([
      ".spec",
      ".spec.base",
      ".spec.provisioners",
      ".spec.provisioners[]",
      ".spec.provisioners[].ansible",
      ".spec.formats",
      ".spec.validate.boot.checks",
      ".spec.publish.aws.tags",
      ".spec.builder.resources.requests",
      ".spec.builder.resources.limits",
      ".spec.builder.nodeSelector",
      ".spec.builder.tolerations[]",
    ]);
  });

  it("bounds what every CEL rule iterates, so the API server can estimate its cost", () => {
    expect(nodes(root).flatMap(celCostViolations)).toEqual([]);
  });

  it("points every rule's fieldPath at a declared field", () => {
    for (const n of nodes(root)) {
      for (const { fieldPath } of (n.schema["x-kubernetes-validations"] ?? []) as Array<{
        fieldPath?: string;
      }>) {
        if (!fieldPath) continue;
        const target = fieldPath
          .split(".")
          .slice(1)
          .reduce<JsonSchema | undefined>(
            (s, k) => (s?.properties as Record<string, JsonSchema>)?.[k],
            n.schema,
          );
        expect(target, `${n.path} fieldPath ${fieldPath}`).toBeDefined();
      }
    }
  });

  it("is deterministic", () => {
    expect(JSON.stringify(imageBuildCrd())).toBe(JSON.stringify(crd));
  });
});

describe("toStructural", () => {
  it("drops defaults, propertyNames and additionalProperties: false; rewrites int-or-string", () => {
    expect(
      toStructural({
        $schema: "x",
        type: "object",
        default: {},
        properties: {
          a: { type: "string", default: "x" },
          q: {
            anyOf: [{ type: "string", pattern: "^1$" }, { type: "integer" }],
            "x-kubernetes-int-or-string": true,
          },
        },
        additionalProperties: false,
      }),
    ).toEqual({
      type: "object",
      properties: {
        a: { type: "string" },
        q: { anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true },
      },
    });
    expect(
      toStructural({
        type: "object",
        propertyNames: { type: "string" },
        additionalProperties: {},
        "x-kubernetes-preserve-unknown-fields": true,
      }),
    ).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
  });
});

describe("status", () => {
  // Every field the hooks may write. A field missing from the CRD would be pruned by the API server,
  // and Metacontroller would see a diff and sync forever.
  const fullStatus: ImageBuildStatus = {
    phase: "Succeeded",
    stage: "publish",
    buildId: "0123456789abcdef",
    startTime: "2026-01-02T03:04:05Z",
    completionTime: "2026-01-02T03:34:05Z",
    message: "published 2 artifacts and 1 image",
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Published",
        message: "published",
        lastTransitionTime: "2026-01-02T03:34:05Z",
        observedGeneration: 3,
      },
    ],
    artifacts: [
      {
        format: "qcow2",
        size: 123456,
        sha256: "a".repeat(64),
        location: "pvc://images/builds/x.qcow2",
        buildId: "0123",
      },
    ],
    images: [
      {
        provider: "aws",
        buildId: "0123",
        region: "us-east-1",
        imageId: "ami-0123",
        snapshotId: "snap-0123",
        name: "x",
        digest: "d",
      },
    ],
    observedGeneration: 3,
  };

  it("round-trips a status with every field set through the zod schema unchanged", () => {
    expect(imageBuildStatusSchema.parse(fullStatus)).toEqual(fullStatus);
  });

  it("is fully declared in the CRD: nothing a hook writes is pruned or rejected", () => {
    const validate = crdValidator(crd);
    const object = imageBuild({ base: { image: "debian:bookworm" } }, {}, fullStatus);
    expect(formatCrdErrors(validate(object))).toEqual([]);
    expect(formatCrdErrors(validate({ ...object, status: { ...fullStatus, extra: 1 } }))).toEqual([
      'status.extra: unknown field "status.extra"',
    ]);
  });

  it("declares every key of the zod status schema, recursively", () => {
    const status = (root.properties as Record<string, JsonSchema>).status!;
    const declared = (s: JsonSchema): string[] =>
      Object.entries((s.properties ?? {}) as Record<string, JsonSchema>).flatMap(([k, v]) => [
        k,
        ...declared(v.type === "array" ? (v.items as JsonSchema) : v).map((c) => `${k}.${c}`),
      ]);
    const written = (v: unknown): string[] =>
      typeof v === "object" && v !== null
        ? Object.entries(Array.isArray(v) ? (v[0] as object) : v).flatMap(([k, c]) => [
            k,
            ...written(c).map((x) => `${k}.${x}`),
          ])
        : [];
    expect(declared(status).sort()).toEqual(written(fullStatus).sort());
  });

  it("declares conditions a map keyed by a required type, as metav1.Condition lists are", () => {
    const status = (root.properties as Record<string, JsonSchema>).status!;
    const conditions = (status.properties as Record<string, JsonSchema>).conditions!;
    expect(conditions["x-kubernetes-list-type"]).toBe("map");
    expect(conditions["x-kubernetes-list-map-keys"]).toEqual(["type"]);
    expect((conditions.items as JsonSchema).required).toContain("type");
  });
});
