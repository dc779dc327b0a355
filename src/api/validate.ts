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

/** Turns zod's issues into one error per field, named the way kubectl names fields. */
export function fieldErrors(error: z.ZodError, root: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const path = formatPath(root, issue.path);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) errors.push({ path: formatPath(path, [key]), message: "unknown field" });
    } else if (issue.code === "invalid_type" && issue.input === undefined) {
      errors.push({ path, message: "required field is missing" });
    } else {
      errors.push({ path, message: issue.message });
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
  const parsed = imageBuildSpecSchema.safeParse(spec ?? undefined);
  if (parsed.success && !protoKeys.length) return { ok: true, spec: parsed.data };
  return { ok: false, errors: [...protoKeys, ...(parsed.success ? [] : fieldErrors(parsed.error, "spec"))] };
}

export function describeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join("; ");
}
