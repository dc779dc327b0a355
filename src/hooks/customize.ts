// The customize hook: which related objects Metacontroller should send with each sync. Its answer
// is cached per parent UID and generation, so it depends on the parent alone.
import { LABEL_IMAGEBUILD } from "../api/constants.js";
import { labelValue } from "../plan/names.js";
import type { CustomizeRequest, CustomizeResponse, RelatedResourceRule } from "./types.js";

/**
 * Secret names the spec references, read leniently so that even an invalid spec gets its Secrets.
 * Walked without recursion: the spec has not been validated yet and may nest arbitrarily deep.
 */
export function referencedSecretNames(spec: unknown): string[] {
  const names = new Set<string>();
  const pending: Array<[value: unknown, key: string | undefined]> = [[spec, undefined]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, key] = next;
    if (Array.isArray(value)) {
      for (const v of value) pending.push([v, undefined]);
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    const record = value as Record<string, unknown>;
    if ((key === "credentialsSecretRef" || key === "extraVarsSecretRef") && typeof record.name === "string") {
      names.add(record.name);
    }
    for (const [k, v] of Object.entries(record)) pending.push([v, k]);
  }
  return [...names].sort();
}

export function customize(req: CustomizeRequest): CustomizeResponse {
  const namespace = req.parent.metadata.namespace;
  const ns = namespace ? { namespace } : {};
  const rules: RelatedResourceRule[] = [
    {
      apiVersion: "v1",
      resource: "pods",
      ...ns,
      labelSelector: { matchLabels: { [LABEL_IMAGEBUILD]: labelValue(req.parent.metadata.name) } },
    },
  ];
  const secrets = referencedSecretNames(req.parent.spec);
  if (secrets.length) rules.push({ apiVersion: "v1", resource: "secrets", ...ns, names: secrets });
  return { relatedResources: rules };
}
