// Validates rendered children as the API server would: Kubernetes' OpenAPI schemas (through
// kubernetes-models), no unknown fields (strict field validation, checked by a round trip through
// @kubernetes/client-node's typed models, which keep only known fields), and the validation rules
// the API server applies beyond the schema that matter for what we render.
import { ObjectSerializer } from "@kubernetes/client-node/dist/serializer.js";
import type { V1Container, V1Job, V1PodSpec } from "@kubernetes/client-node";
import { ConfigMap, Secret } from "kubernetes-models/v1";
import { Job } from "kubernetes-models/batch/v1";
import { sortKeys } from "../../src/plan/canonical-json.js";

const MODELS: Record<string, { type: string; validate: (o: object) => void }> = {
  "batch/v1/Job": { type: "V1Job", validate: (o) => new Job(o as never).validate() },
  "v1/ConfigMap": { type: "V1ConfigMap", validate: (o) => new ConfigMap(o as never).validate() },
  "v1/Secret": { type: "V1Secret", validate: (o) => new Secret(o as never).validate() },
};

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function unknownFields(expected: unknown, actual: unknown, path = ""): string[] {
  if (Array.isArray(actual)) {
    return actual.flatMap((v, i) =>
      unknownFields((expected as unknown[] | undefined)?.[i], v, `${path}[${i}]`),
    );
  }
  if (actual && typeof actual === "object") {
    const e = (expected ?? {}) as Record<string, unknown>;
    return Object.entries(actual).flatMap(([k, v]) =>
      k in e ? unknownFields(e[k], v, `${path}.${k}`) : [`${path}.${k}: unknown field`],
    );
  }
  return [];
}

function podRules(spec: V1PodSpec, path: string): string[] {
  const errors: string[] = [];
  if (spec.restartPolicy !== "Never" && spec.restartPolicy !== "OnFailure") {
    errors.push(`${path}.restartPolicy: a Job's Pods must use Never or OnFailure`);
  }
  const containers: V1Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  const names = containers.map((c) => c.name);
  if (new Set(names).size !== names.length) errors.push(`${path}: duplicate container names`);
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  if (volumes.size !== (spec.volumes ?? []).length) errors.push(`${path}.volumes: duplicate names`);
  for (const c of containers) {
    if (!DNS1123_LABEL.test(c.name)) errors.push(`${path}: container name ${c.name} is not a DNS-1123 label`);
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) errors.push(`${path}: ${c.name} mounts unknown volume ${m.name}`);
    }
    const sc = c.securityContext;
    if (
      sc?.allowPrivilegeEscalation === false &&
      (sc.privileged || sc.capabilities?.add?.includes("SYS_ADMIN"))
    ) {
      errors.push(
        `${path}: ${c.name}: cannot set allowPrivilegeEscalation to false with privileged or CAP_SYS_ADMIN`,
      );
    }
  }
  return errors;
}

export type ChildObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> | null };
} & Record<string, unknown>;

export function validateChild(child: ChildObject): string[] {
  const key = `${child.apiVersion}/${child.kind}`;
  const model = MODELS[key];
  if (!model) return [`${key}: not a child type the operator renders`];
  const errors: string[] = [];
  try {
    model.validate(child);
  } catch (error) {
    errors.push(`${key} ${child.metadata.name}: ${(error as Error).message}`);
  }
  const round = ObjectSerializer.serialize(ObjectSerializer.deserialize(child, model.type), model.type);
  errors.push(
    ...unknownFields(sortKeys(round), sortKeys(child)).map((e) => `${key} ${child.metadata.name}${e}`),
  );

  const name = child.metadata.name;
  const nameRule = child.kind === "Job" ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (!nameRule.test(name) || name.length > (child.kind === "Job" ? 63 : 253))
    errors.push(`${key}: invalid name ${name}`);
  for (const [k, v] of Object.entries(child.metadata.labels ?? {})) {
    if (!LABEL_VALUE.test(v) || v.length > 63)
      errors.push(`${key} ${name}: label ${k}=${v} is not a valid label value`);
  }
  if (child.kind === "ConfigMap" || child.kind === "Secret") {
    const data = (child.data ?? {}) as Record<string, string>;
    let bytes = 0;
    for (const [k, v] of Object.entries(data)) {
      if (!CONFIG_KEY.test(k)) errors.push(`${key} ${name}: invalid key ${k}`);
      if (child.kind === "Secret" && !BASE64.test(v)) errors.push(`${key} ${name}: data.${k} is not base64`);
      // The API server's limit is on bytes (keys and values), not characters.
      bytes +=
        Buffer.byteLength(k) +
        (child.kind === "Secret" ? Buffer.from(v, "base64").length : Buffer.byteLength(v));
    }
    if (bytes > 1024 * 1024) errors.push(`${key} ${name}: ${bytes} bytes exceed 1 MiB`);
  }
  if (child.kind === "Job") {
    const job = child as unknown as V1Job;
    errors.push(...podRules(job.spec!.template.spec!, `${key} ${name}.spec.template.spec`));
  }
  return errors;
}
