// The customize hook: which related objects Metacontroller should send with each sync. Its answer
// is cached per parent UID and generation, so it depends on the parent alone.
import { LABEL_IMAGEBUILD } from "../api/constants.js";
import { labelValue } from "../plan/names.js";
import type { CustomizeRequest, CustomizeResponse, RelatedResourceRule } from "./types.js";

/** Secret names the spec references, read leniently so that even an invalid spec gets its Secrets. */
export function referencedSecretNames(spec: unknown): string[] {
  const names = new Set<string>();
  const visit = (value: unknown, key?: string) => {
    if (Array.isArray(value)) return value.forEach((v) => visit(v));
    if (value === null || typeof value !== "object") return;
    const record = value as Record<string, unknown>;
    if ((key === "credentialsSecretRef" || key === "extraVarsSecretRef") && typeof record.name === "string") {
      names.add(record.name);
    }
    for (const [k, v] of Object.entries(record)) visit(v, k);
  };
  visit(spec);
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
