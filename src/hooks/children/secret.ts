import type { V1Secret } from "@kubernetes/client-node";
import type { SecretProjection } from "../../plan/plan.js";

export interface MissingSecret {
  name: string;
  key?: string;
}

export type ProjectedSecret =
  { ok: true; data: Record<string, string> } | { ok: false; missing: MissingSecret[] };

/**
 * Copies exactly the keys the build needs out of the user's Secrets. Values stay base64 as the API
 * server stores `data` (never `stringData`, which the server folds into `data` and so would differ
 * from what is observed on every sync).
 */
export function projectSecretData(
  projections: SecretProjection[],
  lookup: (name: string) => Record<string, string> | undefined,
): ProjectedSecret {
  const data: Record<string, string> = {};
  const missing: MissingSecret[] = [];
  for (const p of projections) {
    const source = lookup(p.name);
    if (!source) {
      if (!p.optional && !missing.some((m) => m.name === p.name && m.key === undefined))
        missing.push({ name: p.name });
      continue;
    }
    // Own keys only: `constructor` or `toString` must not be found on Object.prototype.
    const value = Object.hasOwn(source, p.key) ? source[p.key] : undefined;
    if (typeof value === "string") data[p.file] = value;
    else if (!p.optional) missing.push({ name: p.name, key: p.key });
  }
  return missing.length ? { ok: false, missing } : { ok: true, data };
}

export function describeMissing(missing: MissingSecret[]): string {
  return missing
    .map((m) => (m.key ? `Secret "${m.name}" has no key "${m.key}"` : `Secret "${m.name}" not found`))
    .join("; ");
}

export function newSecret(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  data: Record<string, string>,
): V1Secret {
  return { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name, namespace, labels }, data };
}
