// The JSON files one part of the build leaves for another (plan.json, state/artifacts.json,
// build.json) are parsed the same way: JSON, then their zod schema; the error names the file and
// the first field that is wrong, never a cast that fails later somewhere else.
import type { z } from "zod";

/** `label` starts every error message (the file, and what it should have been). */
export function parseJsonDocument<S extends z.ZodType>(text: string, schema: S, label: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${label}: not JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${label}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}
