// Kubernetes' own validation of what the spec copies into the build Pod (label syntax from
// k8s.io/apimachinery/pkg/util/validation, tolerations and container resources from
// pkg/apis/core/validation), so that a spec the API server would refuse as a Pod fails as a spec.
// Pure functions: each returns the problems it found, worded for a user, empty when there are none.
import { compareQuantities, isWholeQuantity } from "./quantity.js";

export const DNS1123_SUBDOMAIN_PATTERN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
/** A label name or value: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
export const LABEL_NAME_PATTERN = "([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]";
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_PATTERN}$`);
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const NAME_RULE =
  "at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric";

/** A qualified name (label key, resource name): `[prefix/]name`, prefix a DNS-1123 subdomain. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return "must have at most one '/'";
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) return "the prefix before '/' must not be empty";
    if (prefix.length > 253) return "the prefix before '/' must be 253 characters at most";
    if (!DNS1123_SUBDOMAIN.test(prefix))
      return "the prefix before '/' must be a lower-case DNS-1123 subdomain";
  }
  if (name.length === 0) return "the name must not be empty";
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return `${parts.length === 2 ? "the name after '/'" : "must be [prefix/]name; the name"} must be ${NAME_RULE}`;
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) return `must be empty or ${NAME_RULE}`;
  return undefined;
}

/** Problems of a nodeSelector, each naming the key it is about. */
export function nodeSelectorProblems(selector: Record<string, string>): string[] {
  return Object.entries(selector).flatMap(([key, value]) => {
    const problems: string[] = [];
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) problems.push(`key "${key}": ${keyProblem}`);
    const valueProblem = labelValueProblem(value);
    if (valueProblem) problems.push(`value "${value}" of key "${key}": ${valueProblem}`);
    return problems;
  });
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** The rules of ValidateTolerations that the schema's enums and lengths do not already check. */
export function tolerationProblems(t: Toleration): string[] {
  const problems: string[] = [];
  const exists = t.operator === "Exists";
  if (t.key) {
    const keyProblem = qualifiedNameProblem(t.key);
    if (keyProblem) problems.push(`key "${t.key}": ${keyProblem}`);
  } else if (!exists) {
    problems.push("operator must be Exists when key is empty (it then matches every taint)");
  }
  if (exists && t.value) problems.push(`value must be empty when operator is Exists (found "${t.value}")`);
  if (!exists && t.value) {
    const valueProblem = labelValueProblem(t.value);
    if (valueProblem) problems.push(`value "${t.value}": ${valueProblem}`);
  }
  if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
    problems.push(`tolerationSeconds needs effect NoExecute (found ${t.effect ?? "no effect"})`);
  }
  return problems;
}

const STANDARD_CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);
const isHugePages = (name: string) => name.startsWith("hugepages-");
/** Native resources have no domain or a kubernetes.io one; all others are extended resources. */
const isNative = (name: string) => !name.includes("/") || name.includes("kubernetes.io/");
/** Kubernetes lets only native resources other than huge pages be requested below their limit. */
const overcommitAllowed = (name: string) => isNative(name) && !isHugePages(name);

export function resourceNameProblem(name: string): string | undefined {
  const qualified = qualifiedNameProblem(name);
  if (qualified) return qualified;
  if (!name.includes("/")) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) {
      return "must be cpu, memory, ephemeral-storage, hugepages-<size> or a name with a domain such as example.com/gpu";
    }
  } else if (!isNative(name) && name.startsWith("requests.")) {
    return "an extended resource name must not start with requests.";
  }
  return undefined;
}

type Quantities = Record<string, string | number>;

/** Problems with the resource names of one requests or limits map. */
export function resourceNamesProblems(map: Quantities): string[] {
  return Object.keys(map).flatMap((name) => {
    const problem = resourceNameProblem(name);
    return problem ? [`resource name "${name}": ${problem}`] : [];
  });
}

/**
 * The rest of ValidateResourceRequirements for a container (names checked apart): extended
 * resources whole and requested at their limit, no request above its limit, huge pages with cpu or
 * memory.
 */
export function resourceAmountsProblems(resources: { requests?: Quantities; limits?: Quantities }): string[] {
  const requests = resources.requests ?? {};
  const limits = resources.limits ?? {};
  const problems: string[] = [];
  for (const [kind, map] of [
    ["limits", limits],
    ["requests", requests],
  ] as const) {
    for (const [name, quantity] of Object.entries(map)) {
      if (!resourceNameProblem(name) && !isNative(name) && isWholeQuantity(quantity) === false) {
        problems.push(`${kind}.${name}: an extended resource must be a whole number (found ${quantity})`);
      }
    }
  }
  for (const [name, request] of Object.entries(requests)) {
    if (resourceNameProblem(name)) continue;
    const limit = Object.hasOwn(limits, name) ? limits[name] : undefined;
    if (limit === undefined) {
      if (!overcommitAllowed(name))
        problems.push(`limits.${name}: must be set, equal to the request (${request})`);
      continue;
    }
    const order = compareQuantities(request, limit);
    if (order === undefined) continue;
    if (!overcommitAllowed(name) && order !== 0) {
      problems.push(`requests.${name}: must equal its limit ${limit} (found ${request})`);
    } else if (order > 0) {
      problems.push(`requests.${name}: must not exceed its limit ${limit} (found ${request})`);
    }
  }
  const names = [...Object.keys(requests), ...Object.keys(limits)];
  if (names.some(isHugePages) && !names.some((n) => n === "cpu" || n === "memory")) {
    problems.push("hugepages need a cpu or memory request or limit");
  }
  return problems;
}

// The same rules as CEL for the CRD, where the API server can check them (it has no quantity
// comparison that every supported version offers, so requests against limits stay zod's).
/** A CEL string literal: backslashes are escapes there too. */
const celString = (s: string) => `'${s.replaceAll("\\", "\\\\")}'`;
const QUALIFIED_NAME_CEL = (v: string) =>
  `${v}.matches(${celString(`^(${DNS1123_SUBDOMAIN_PATTERN}/)?${LABEL_NAME_PATTERN}$`)}) && (!${v}.contains('/') || ${v}.matches('^[^/]{1,253}/'))`;
export const LABEL_VALUE_PATTERN = `^(${LABEL_NAME_PATTERN})?$`;
export const CEL = {
  nodeSelector: {
    rule: `self.all(k, ${QUALIFIED_NAME_CEL("k")} && self[k].matches(${celString(LABEL_VALUE_PATTERN)}))`,
    message: "keys must be label keys ([prefix/]name) and values label values",
  },
  resourceNames: {
    rule: `self.all(k, ${QUALIFIED_NAME_CEL("k")} && (k.contains('/') ? !(k.startsWith('requests.') && !k.contains('kubernetes.io/')) : (k in ['cpu', 'memory', 'ephemeral-storage'] || k.startsWith('hugepages-'))))`,
    message:
      "resource names must be cpu, memory, ephemeral-storage, hugepages-<size> or a name with a domain",
  },
  toleration: [
    {
      rule: `!has(self.key) || self.key == '' || (${QUALIFIED_NAME_CEL("self.key")})`,
      message: "key must be a label key ([prefix/]name)",
    },
    {
      rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
      message: "operator must be Exists when key is empty",
    },
    {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: "value must be empty when operator is Exists",
    },
    {
      rule: `!has(self.value) || self.value.matches(${celString(LABEL_VALUE_PATTERN)})`,
      message: "value must be a label value",
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: "tolerationSeconds needs effect NoExecute",
    },
  ],
};
