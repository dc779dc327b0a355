// The builder's redactor: the values of the files in its secrets directory, hidden (by the rules of
// src/plan/redact.ts) in its log and failure message before anything is written.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createRedactor, secretValues, type Redact } from "../plan/redact.js";

/** A redactor for every file in the secrets directory (none when it does not exist). */
export async function loadRedactor(secretsDir: string): Promise<Redact> {
  const names = await readdir(secretsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const values: string[] = [];
  for (const name of names) {
    // Kubernetes projects a Secret volume through `..data` symlinks; only the keys are read.
    if (name.startsWith("..")) continue;
    const content = await readFile(path.join(secretsDir, name), "utf8").catch(() => undefined);
    if (content !== undefined) values.push(...secretValues(content));
  }
  return createRedactor(values);
}
