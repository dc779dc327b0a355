// Secret values out of text that leaves the build: its log, its failure message, and status. A
// playbook or script may print what it was given (a debug task, a failing command echoing its
// arguments). Every value of a projected Secret file is replaced: the whole file, and each string
// in a file that is a YAML/JSON document (extra vars, a docker config). Pure, so that the builder
// (reading the secrets directory) and the hooks (reading the Secrets Metacontroller sends) share it.
import { parse } from "yaml";

export const REDACTED = "[REDACTED]";

/** Shorter strings are too common in ordinary output (`true`, a port) to be told from secrets. */
export const MIN_SECRET_LENGTH = 6;

export type Redact = (text: string) => string;

function stringsIn(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) stringsIn(v, out);
}

/** The values to hide in one Secret file's content. */
export function secretValues(content: string): string[] {
  const values = [content, content.trim()];
  try {
    stringsIn(parse(content), values);
  } catch {
    // Not YAML: the content as a whole is the secret.
  }
  return values;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function createRedactor(values: Iterable<string>): Redact {
  const forms = new Set<string>();
  for (const v of values) {
    if (v.length < MIN_SECRET_LENGTH) continue;
    forms.add(v);
    // As it appears inside a JSON string (a JSON log line, Ansible's JSON results).
    forms.add(JSON.stringify(v).slice(1, -1));
  }
  if (forms.size === 0) return (text) => text;
  // Longest first, so that a secret containing another is hidden whole.
  const pattern = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join("|"),
    "g",
  );
  return (text) => text.replace(pattern, REDACTED);
}

/** A redactor for a Secret's `data` as the API server stores it (base64 values). */
export function secretDataRedactor(data: Record<string, string> | undefined): Redact {
  const values = Object.values(data ?? {}).flatMap((b64) =>
    secretValues(Buffer.from(b64, "base64").toString("utf8")),
  );
  return createRedactor(values);
}
