// The plan directory (DEVELOPERS.md "Plan"): plan.json plus one file per asset, the same for the
// ConfigMap mounted in the Pod and for the directory `bib build` lays out.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { PLAN_FILE } from "../api/constants.js";
import { parsePlanDocument, planDocument } from "../plan/plan-document.js";
import type { BuildPlan } from "../plan/plan.js";

export async function writePlanDir(dir: string, plan: BuildPlan): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, PLAN_FILE), planDocument(plan));
  for (const [key, content] of Object.entries(plan.assets)) await writeFile(path.join(dir, key), content);
}

/** The plan as the stages see it; assets stay files beside plan.json and are read where needed. */
export async function readPlanDir(dir: string): Promise<BuildPlan> {
  const file = path.join(dir, PLAN_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new Error(`cannot read the build plan ${file}: ${(cause as Error).message}`, { cause });
  }
  return { ...parsePlanDocument(text, file), assets: {} };
}

/** Secret files readable by root only, as the kubelet projects them with defaultMode 0400/0600. */
export async function writeSecretFile(dir: string, name: string, content: Buffer | string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFile(path.join(dir, name), content, { mode: 0o600 });
  await chmod(path.join(dir, name), 0o600);
}
