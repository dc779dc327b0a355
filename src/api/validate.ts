import type { z } from "zod";
import { imageBuildSpecSchema, type ImageBuildSpec } from "./schema.js";

export interface FieldError {
  /** Dotted path from the object root, e.g. `spec.base.tarball.sha256` or `spec.files[2].mode`. */
  path: string;
  message: string;
}

export type SpecValidation = { ok: true; spec: ImageBuildSpec } | { ok: false; errors: FieldError[] };

export function formatPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  let out = root;
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  }
  return out;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  format?: string;
};
const defOf = (schema: z.ZodType) => schema._zod.def as unknown as Def;

/** The schema without optional/default/pipe wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  const def = defOf(schema);
  const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
  return inner ? unwrap(inner) : schema;
}

/** The schema that checks the value at `path` (object fields, list items, map values). */
function schemaAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  for (const part of path) {
    if (!node) return undefined;
    const def = defOf(unwrap(node));
    if (def.type === "object")
      node = Object.hasOwn(def.shape!, String(part)) ? def.shape![String(part)] : undefined;
    else if (def.type === "array") node = def.element;
    else if (def.type === "record") node = def.valueType;
    else return undefined;
  }
  return node;
}

const PLURAL: Record<string, string> = {
  "a string": "strings",
  "an integer": "integers",
  "a number": "numbers",
  "true or false": "booleans",
  "an object": "objects",
};

/** What a schema takes, in words: `a list of strings`, `a string or an integer`. */
function expectedText(schema: z.ZodType): string | undefined {
  const def = defOf(unwrap(schema));
  switch (def.type) {
    case "string":
    case "enum":
      return "a string";
    case "number":
      return def.format?.includes("int") ? "an integer" : "a number";
    case "boolean":
      return "true or false";
    case "object":
      return "an object";
    case "record": {
      const values = expectedText(def.valueType!);
      return values && PLURAL[values] ? `a map of ${PLURAL[values]}` : "a map";
    }
    case "array": {
      const items = expectedText(def.element!);
      return items && PLURAL[items] ? `a list of ${PLURAL[items]}` : "a list";
    }
    case "union": {
      const options = def.options!.map(expectedText);
      return options.every(Boolean) ? options.join(" or ") : undefined;
    }
    default:
      return undefined;
  }
}

/** What was found instead, in the same words. */
function foundText(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "a string";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  return typeof value === "object" ? "an object" : typeof value;
}

function wrongTypeMessage(schema: z.ZodType, issue: z.core.$ZodIssue): string | undefined {
  const expected = schemaAt(schema, issue.path);
  const text = expected && expectedText(expected);
  return text ? `expected ${text}, got ${foundText(issue.input)}` : undefined;
}

/** Turns zod's issues into one error per field, named the way kubectl names fields. */
export function fieldErrors(error: z.ZodError, root: string, schema?: z.ZodType): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const path = formatPath(root, issue.path);
    // zod reports the input only when asked (reportInput); a missing field has none.
    const wrongType =
      (issue.code === "invalid_type" || issue.code === "invalid_union") &&
      issue.input !== undefined &&
      schema &&
      wrongTypeMessage(schema, issue);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) errors.push({ path: formatPath(path, [key]), message: "unknown field" });
    } else if (issue.code === "invalid_type" && issue.input === undefined) {
      errors.push({ path, message: "required field is missing" });
    } else {
      errors.push({ path, message: wrongType || issue.message });
    }
  }
  return errors;
}

const PROTO_KEY = "__proto__";

/**
 * Every own `__proto__` key in `value`. JSON.parse keeps such a key as data, but zod's records copy
 * entries by assignment, which would drop it (and with it the user's value) without a word; it is
 * refused by name instead. Iterative, so that deep nesting cannot overflow the stack.
 */
function protoKeyErrors(value: unknown, root: string): FieldError[] {
  const errors: FieldError[] = [];
  const pending: Array<[unknown, string]> = [[value, root]];
  while (pending.length) {
    const [node, path] = pending.pop()!;
    if (Array.isArray(node)) node.forEach((v, i) => pending.push([v, formatPath(path, [i])]));
    else if (node !== null && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if (k === PROTO_KEY)
          errors.push({ path: formatPath(path, [k]), message: `the key "${PROTO_KEY}" is not supported` });
        else pending.push([v, formatPath(path, [k])]);
      }
    }
  }
  return errors.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export function validateSpec(spec: unknown): SpecValidation {
  const protoKeys = protoKeyErrors(spec, "spec");
  const parsed = imageBuildSpecSchema.safeParse(spec ?? undefined, { reportInput: true });
  if (parsed.success && !protoKeys.length) return { ok: true, spec: parsed.data };
  const errors = parsed.success ? [] : fieldErrors(parsed.error, "spec", imageBuildSpecSchema);
  return { ok: false, errors: [...protoKeys, ...errors] };
}

export function describeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join("; ");
}
