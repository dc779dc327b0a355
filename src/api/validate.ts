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

export function validateSpec(spec: unknown): SpecValidation {
  const parsed = imageBuildSpecSchema.safeParse(spec ?? undefined);
  return parsed.success
    ? { ok: true, spec: parsed.data }
    : { ok: false, errors: fieldErrors(parsed.error, "spec") };
}

export function describeErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join("; ");
}
