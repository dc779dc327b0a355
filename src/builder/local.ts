// `bib build` on one machine: the ImageBuild (plus the ConfigMaps and Secrets it references, as
// extra documents of the same file) becomes the same workspace layout the build Pod has
// (bib/plan, bib/secrets, bib/configmaps, workspace), then every step runs in order.
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FieldError } from "../api/validate.js";
import { resolvePlan, type BuildPlan } from "../plan/plan.js";
import { writePlanDir, writeSecretFile } from "./plan-dir.js";

export interface ManifestSet {
  imageBuild: {
    metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
    spec?: unknown;
  };
  configMaps: Map<string, Record<string, string>>;
  secrets: Map<string, Record<string, Buffer>>;
}

export type LocalPlan = { ok: true; plan: BuildPlan } | { ok: false; errors: FieldError[] };

/** A key of a ConfigMap's or Secret's data, never a property of Object.prototype (`constructor`). */
function ownValue<T>(data: Record<string, T> | undefined, key: string): T | undefined {
  return data && Object.hasOwn(data, key) ? data[key] : undefined;
}

export function localPlan(manifests: ManifestSet): LocalPlan {
  const result = resolvePlan(manifests.imageBuild);
  return result.ok ? { ok: true, plan: result.plan } : { ok: false, errors: result.errors };
}

/** Which ConfigMap keys the plan reads, and whether the manifests provide them. */
export function missingReferences(plan: BuildPlan, manifests: ManifestSet): string[] {
  const missing: string[] = [];
  plan.provisioners.forEach((p, i) => {
    if (p.type !== "ansible" || p.playbook.source !== "configMap") return;
    const { name, key } = p.playbook;
    if (ownValue(manifests.configMaps.get(name), key) === undefined) {
      missing.push(
        `spec.provisioners[${i}].ansible.configMapRef: no ConfigMap "${name}" with key "${key}" in the input`,
      );
    }
  });
  for (const s of plan.secrets) {
    if (!s.optional && ownValue(manifests.secrets.get(s.name), s.key) === undefined) {
      missing.push(`Secret "${s.name}" with key "${s.key}" is referenced but not in the input`);
    }
  }
  return missing;
}

export interface LocalLayout {
  root: string;
  planDir: string;
  secretsDir: string;
  configMapsDir: string;
  workspace: string;
}

export function localLayout(root: string): LocalLayout {
  return {
    root,
    planDir: path.join(root, "bib", "plan"),
    secretsDir: path.join(root, "bib", "secrets"),
    configMapsDir: path.join(root, "bib", "configmaps"),
    workspace: path.join(root, "workspace"),
  };
}

/** Writes the Pod's inputs into `layout`: plan dir, 0600 secret files, one directory per ConfigMap. */
export async function prepareLayout(
  layout: LocalLayout,
  plan: BuildPlan,
  manifests: ManifestSet,
): Promise<void> {
  await rm(layout.root, { recursive: true, force: true });
  await writePlanDir(layout.planDir, plan);
  await mkdir(layout.secretsDir, { recursive: true, mode: 0o700 });
  for (const s of plan.secrets) {
    const value = ownValue(manifests.secrets.get(s.name), s.key);
    if (value !== undefined) await writeSecretFile(layout.secretsDir, s.file, value);
  }
  for (const [name, data] of manifests.configMaps) {
    const dir = path.join(layout.configMapsDir, name);
    await mkdir(dir, { recursive: true });
    for (const [key, value] of Object.entries(data)) await writeFile(path.join(dir, key), value);
  }
  await mkdir(layout.workspace, { recursive: true });
}
