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
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

// Written apart from src/api/k8s-rules.ts on purpose: a stand-in that shared the operator's code
// would agree with the operator's mistakes.
function isQualifiedName(s: string): boolean {
  const parts = s.split("/");
  const name = parts.at(-1)!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  if (parts.length > 2 || name.length > 63 || !LABEL_NAME.test(name)) return false;
  return prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix));
}
const isLabelValue = (v: string) => v === "" || (v.length <= 63 && LABEL_NAME.test(v));

// Suffix -> factor: n u m, "", k M G T P E in steps of 10^3; Ki .. Ei in steps of 2^10.
const SCALE = new Map<string, number>([
  ...["n", "u", "m", "", "k", "M", "G", "T", "P", "E"].map((u, i): [string, number] => [
    u,
    10 ** (3 * i - 9),
  ]),
  ...["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].map((u, i): [string, number] => [u, 2 ** (10 * i + 10)]),
]);
/** A quantity as a float: close enough to order a stand-in's requests and limits. */
function quantityValue(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$/.exec(q);
  const scale = m ? SCALE.get(m[2]!) : undefined;
  return m && scale !== undefined ? Number(m[1]) * scale : NaN;
}

/** pkg/apis/core/validation ValidateResourceRequirements, for what the operator can render. */
function resourceRules(resources: V1Container["resources"], at: string): string[] {
  const errors: string[] = [];
  const requests = (resources?.requests ?? {}) as Record<string, string | number>;
  const limits = (resources?.limits ?? {}) as Record<string, string | number>;
  const native = (n: string) => !n.includes("/") || n.includes("kubernetes.io/");
  const hugePages = (n: string) => n.startsWith("hugepages-");
  for (const [kind, map] of Object.entries({ limits, requests })) {
    for (const [n, q] of Object.entries(map)) {
      const standard = ["cpu", "memory", "ephemeral-storage"].includes(n) || hugePages(n);
      if (!isQualifiedName(n) || (!n.includes("/") && !standard) || (!native(n) && n.startsWith("requests.")))
        errors.push(`${at}.resources.${kind}[${n}]: not a valid resource name`);
      if (Number.isNaN(quantityValue(q))) errors.push(`${at}.resources.${kind}[${n}]: not a quantity`);
      else if (!native(n) && !Number.isInteger(quantityValue(q)))
        errors.push(`${at}.resources.${kind}[${n}]: must be an integer`);
    }
  }
  for (const [n, q] of Object.entries(requests)) {
    const overcommit = native(n) && !hugePages(n);
    if (!(n in limits)) {
      if (!overcommit)
        errors.push(`${at}.resources.limits: Limit must be set for non overcommitable resources`);
    } else if (!overcommit && quantityValue(q) !== quantityValue(limits[n]!)) {
      errors.push(`${at}.resources.requests: must be equal to ${n} limit`);
    } else if (quantityValue(q) > quantityValue(limits[n]!)) {
      errors.push(`${at}.resources.requests: must be less than or equal to ${n} limit`);
    }
  }
  const names = [...Object.keys(requests), ...Object.keys(limits)];
  if (names.some(hugePages) && !names.some((n) => n === "cpu" || n === "memory"))
    errors.push(`${at}.resources: HugePages require cpu or memory`);
  return errors;
}

/** Node selector labels and ValidateTolerations. */
function schedulingRules(spec: V1PodSpec, path: string): string[] {
  const errors: string[] = [];
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    if (!isQualifiedName(k)) errors.push(`${path}.nodeSelector: invalid label key ${k}`);
    if (!isLabelValue(v)) errors.push(`${path}.nodeSelector[${k}]: invalid label value ${v}`);
  }
  (spec.tolerations ?? []).forEach((t, i) => {
    const at = `${path}.tolerations[${i}]`;
    if (t.key && !isQualifiedName(t.key)) errors.push(`${at}.key: invalid label name`);
    if (!t.key && t.operator !== "Exists") errors.push(`${at}.operator: must be Exists when key is empty`);
    if (t.tolerationSeconds != null && t.effect !== "NoExecute")
      errors.push(`${at}.effect: must be NoExecute when tolerationSeconds is set`);
    if (t.operator === "Exists" && t.value)
      errors.push(`${at}.operator: value must be empty when operator is Exists`);
    if (t.operator !== "Exists" && !isLabelValue(t.value ?? "")) errors.push(`${at}.operator: invalid value`);
    if (t.effect && !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(t.effect))
      errors.push(`${at}.effect: unsupported value`);
  });
  return errors;
}

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
  errors.push(...schedulingRules(spec, path));
  for (const c of containers) {
    errors.push(...resourceRules(c.resources, `${path} ${c.name}`));
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
