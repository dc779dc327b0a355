// A stand-in for the API server's validation of an ImageBuild against the CRD's openAPIV3Schema:
// - the OpenAPI part with ajv, after mapping the Kubernetes extensions onto JSON Schema
//   (x-kubernetes-int-or-string -> integer|string, x-kubernetes-preserve-unknown-fields -> an open
//   object, every other object closed, as strict field validation (kubectl's default) rejects
//   unknown fields rather than pruning them);
// - x-kubernetes-list-type set and map: no duplicate items, no two items with the same keys;
// - the x-kubernetes-validations CEL rules with @bufbuild/cel, each at its own node, with objects
//   as CEL maps and integers as CEL ints, as the API server binds `self`.
// Errors read like kubectl's: `spec.base.tarball.sha256: Invalid value: ...`.
import { celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { Ajv, type ErrorObject } from "ajv";
import type { JsonSchema } from "../../src/api/crd.js";

export interface CrdError {
  /** kubectl's field path: `spec.files[0].mode`. */
  path: string;
  message: string;
}

interface CelRule {
  rule: string;
  message?: string;
  fieldPath?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The openAPIV3Schema as plain JSON Schema (draft-07) with the API server's semantics. */
export function toAjvSchema(node: JsonSchema, isRoot = true): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("x-kubernetes-") || k === "description") continue;
    if (k === "properties") {
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, JsonSchema>).map(([p, s]) => [
          p,
          // ObjectMeta is validated by the API server itself, not by the CRD schema.
          isRoot && p === "metadata" ? { type: "object" } : toAjvSchema(s, false),
        ]),
      );
    } else if (k === "items" || (k === "additionalProperties" && isObject(v))) {
      out[k] = toAjvSchema(v as JsonSchema, false);
    } else if (k !== "anyOf") {
      out[k] = v;
    }
  }
  if (node["x-kubernetes-int-or-string"] === true) out.type = ["integer", "string"];
  else if (node.anyOf) throw new Error(`anyOf without x-kubernetes-int-or-string is not supported`);
  const open = node["x-kubernetes-preserve-unknown-fields"] === true;
  if (out.type === "object" && !open && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** `/spec/files/0/mode` -> `spec.files[0].mode`. */
export function pointerToPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

const show = (v: unknown) =>
  typeof v === "string"
    ? JSON.stringify(v)
    : isObject(v)
      ? '"object"'
      : Array.isArray(v)
        ? '"array"'
        : String(v);

/** kubectl's wording for the OpenAPI errors (k8s.io/kube-openapi validate errors). */
function ajvError(e: ErrorObject, root: unknown): CrdError {
  const path = pointerToPath(e.instancePath);
  const value = e.instancePath
    .split("/")
    .slice(1)
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k.replace(/~1/g, "/")], root);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const field = `${path}${path ? "." : ""}${String(p.additionalProperty)}`;
      return { path: field, message: `unknown field "${field}"` };
    }
    case "required": {
      const field = `${path}${path ? "." : ""}${String(p.missingProperty)}`;
      return { path: field, message: "Required value" };
    }
    case "pattern":
      return {
        path,
        message: `Invalid value: ${show(value)}: ${path} in body should match '${String(p.pattern)}'`,
      };
    case "enum":
      return {
        path,
        message: `Unsupported value: ${show(value)}: supported values: ${(p.allowedValues as unknown[]).map((a) => JSON.stringify(a)).join(", ")}`,
      };
    case "type":
      return {
        path,
        message: `Invalid value: ${show(value)}: ${path} in body must be of type ${String(p.type)}`,
      };
    case "maxLength":
      return { path, message: `Too long: may not be longer than ${String(p.limit)}` };
    case "minLength":
      return {
        path,
        message: `Invalid value: ${show(value)}: ${path} in body should be at least ${String(p.limit)} chars long`,
      };
    case "maxItems":
      return { path, message: `Too many: must have at most ${String(p.limit)} items` };
    case "minItems":
      return {
        path,
        message: `Invalid value: ${path} in body should have at least ${String(p.limit)} items`,
      };
    case "minimum":
    case "maximum":
      return { path, message: `Invalid value: ${show(value)}: ${path} in body should be ${e.message ?? ""}` };
    default:
      return { path, message: `Invalid value: ${show(value)}: ${e.message ?? e.keyword}` };
  }
}

/** JSON -> the values the API server binds in CEL: objects as maps, integers as ints. */
export function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (isObject(value)) return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  return value;
}

const typeMatches = (schema: JsonSchema, value: unknown) =>
  schema.type === "object"
    ? isObject(value)
    : schema.type === "array"
      ? Array.isArray(value)
      : value !== undefined && value !== null;

type Program = (bindings: { self: unknown }) => unknown;
const programs = new Map<string, Program>();
const env = celEnv();

/** A rule parsed and planned once; the API server also compiles each rule once, when the CRD is written. */
function program(rule: string): Program {
  let p = programs.get(rule);
  if (!p) {
    const planned = plan(env, parse(rule));
    p = (bindings) => planned(bindings as Parameters<typeof planned>[0]);
    programs.set(rule, p);
  }
  return p;
}

type Check = (schema: JsonSchema, value: unknown, path: string) => CrdError[];

/** Runs `check` at every schema node the value reaches, depth first, with kubectl's field paths. */
function walk(schema: JsonSchema, value: unknown, path: string, check: Check): CrdError[] {
  if (!typeMatches(schema, value)) return [];
  const errors = check(schema, value, path);
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && isObject(value)) {
    for (const [k, s] of Object.entries(props))
      errors.push(...walk(s, value[k], path ? `${path}.${k}` : k, check));
  }
  if (isObject(schema.additionalProperties) && isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      errors.push(...walk(schema.additionalProperties as JsonSchema, v, `${path}.${k}`, check));
    }
  }
  if (isObject(schema.items) && Array.isArray(value)) {
    value.forEach((v, i) => errors.push(...walk(schema.items as JsonSchema, v, `${path}[${i}]`, check)));
  }
  return errors;
}

const celRuleErrors: Check = (schema, value, path) => {
  const errors: CrdError[] = [];
  for (const { rule, message, fieldPath } of (schema["x-kubernetes-validations"] ?? []) as CelRule[]) {
    const at = fieldPath ? `${path}${fieldPath}` : path;
    let result: unknown;
    try {
      result = program(rule)({ self: toCel(value) });
    } catch (error) {
      result = error; // a rule that does not parse
    }
    if (result !== true) {
      const why =
        isCelError(result) || result instanceof Error
          ? `rule ${rule} failed: ${result.message}`
          : (message ?? `failed rule: ${rule}`);
      errors.push({ path: at, message: `Invalid value: ${show(value)}: ${why}` });
    }
  }
  return errors;
};

/** x-kubernetes-list-type: a `set` holds no value twice, a `map` no two items with the same keys. */
const listTypeErrors: Check = (schema, value, path) => {
  const listType = schema["x-kubernetes-list-type"];
  if ((listType !== "set" && listType !== "map") || !Array.isArray(value)) return [];
  const keys = (schema["x-kubernetes-list-map-keys"] ?? []) as string[];
  const identity = (item: unknown) =>
    listType === "set"
      ? JSON.stringify(item)
      : JSON.stringify(Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown>)[k]])));
  const seen = new Set<string>();
  const errors: CrdError[] = [];
  value.forEach((item, i) => {
    const id = identity(item);
    if (seen.has(id)) errors.push({ path: `${path}[${i}]`, message: `Duplicate value: ${id}` });
    seen.add(id);
  });
  return errors;
};

/** Evaluates every x-kubernetes-validations rule at its node, depth first, as the API server does. */
export function celErrors(schema: JsonSchema, value: unknown, path = ""): CrdError[] {
  return walk(schema, value, path, celRuleErrors);
}

export type CrdValidate = (object: unknown) => CrdError[];

/** A validator for whole objects (apiVersion, kind, metadata, spec, status) of the CRD's served version. */
export function crdValidator(crd: JsonSchema): CrdValidate {
  const version = (crd.spec as { versions: Array<{ schema: { openAPIV3Schema: JsonSchema } }> }).versions[0]!;
  const schema = version.schema.openAPIV3Schema;
  const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
    toAjvSchema(schema),
  );
  return (object) => {
    const errors = validate(object) ? [] : (validate.errors ?? []).map((e) => ajvError(e, object));
    return [...errors, ...walk(schema, object, "", listTypeErrors), ...celErrors(schema, object)];
  };
}

export const formatCrdErrors = (errors: CrdError[]) => errors.map((e) => `${e.path}: ${e.message}`);
