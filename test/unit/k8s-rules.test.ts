// Kubernetes' Pod validation rules the spec applies to what it copies into the build Pod, case by
// case as k8s.io/apimachinery and pkg/apis/core/validation decide them, in zod and in the CRD.
import { describe, expect, it } from "vitest";
import { imageBuildCrd } from "../../src/api/crd.js";
import {
  labelValueProblem,
  nodeSelectorProblems,
  qualifiedNameProblem,
  resourceAmountsProblems,
  resourceNameProblem,
  tolerationProblems,
} from "../../src/api/k8s-rules.js";
import { compareQuantities, isWholeQuantity } from "../../src/api/quantity.js";
import { validateSpec } from "../../src/api/validate.js";
import { crdValidator } from "../support/crd-validator.js";
import { imageBuild } from "../support/fixtures.js";

const validateCrd = crdValidator(imageBuildCrd());
const withBuilder = (builder: unknown) => ({ base: { debootstrap: { suite: "bookworm" } }, builder });
const crdPaths = (builder: unknown) =>
  [...new Set(validateCrd(imageBuild(withBuilder(builder))).map((e) => e.path))].sort();
const zodErrors = (builder: unknown) => {
  const r = validateSpec(withBuilder(builder));
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};
const zodPaths = (builder: unknown) => {
  const r = validateSpec(withBuilder(builder));
  return r.ok ? [] : [...new Set(r.errors.map((e) => e.path))].sort();
};

describe("label keys (qualified names)", () => {
  it.each([
    "a",
    "kubernetes.io/arch",
    "node-role.kubernetes.io/worker",
    "A_b.c-9",
    "x".repeat(63),
    `${"a".repeat(253)}/b`,
  ])("takes %s", (key) => expect(qualifiedNameProblem(key)).toBeUndefined());
  it.each([
    ["", "the name must not be empty"],
    ["a b", "must be [prefix/]name"],
    ["-a", "must be [prefix/]name"],
    ["a-", "must be [prefix/]name"],
    ["x".repeat(64), "must be [prefix/]name"],
    ["/a", "the prefix before '/' must not be empty"],
    ["Example.com/a", "lower-case DNS-1123 subdomain"],
    [`${"a".repeat(254)}/b`, "253 characters at most"],
    ["a/b/c", "at most one '/'"],
    ["example.com/", "the name must not be empty"],
    ["example.com/-x", "the name after '/'"],
  ])("refuses %j", (key, problem) => expect(qualifiedNameProblem(key)).toContain(problem));
});

describe("label values", () => {
  it.each(["", "amd64", "a.b_c-d", "9".repeat(63)])("takes %j", (v) =>
    expect(labelValueProblem(v)).toBeUndefined(),
  );
  it.each(["gpu/a100", "a b", "-a", "a.", "9".repeat(64)])("refuses %j", (v) =>
    expect(labelValueProblem(v)).toContain("must be empty or"),
  );
});

describe("nodeSelector", () => {
  it("names the key of each bad key or value", () => {
    expect(nodeSelectorProblems({ ok: "fine", "a b": "x", k: "v/w" })).toEqual([
      expect.stringMatching(/^key "a b": /),
      expect.stringMatching(/^value "v\/w" of key "k": /),
    ]);
  });
  it.each([
    { "a b": "x" },
    { k: "v/w" },
    { "Example.com/a": "x" },
    { [`${"a".repeat(254)}/b`]: "x" },
    { k: "v".repeat(64) },
  ])("zod and the CRD both refuse %j at the same path", (nodeSelector) => {
    expect(zodPaths({ nodeSelector }).length).toBeGreaterThan(0);
    expect(crdPaths({ nodeSelector })).toEqual(zodPaths({ nodeSelector }));
  });
  it("both take valid labels", () => {
    const nodeSelector = {
      "kubernetes.io/arch": "amd64",
      "node-role.kubernetes.io/builder": "",
      pool: "Big_1",
    };
    expect(zodErrors({ nodeSelector })).toEqual([]);
    expect(crdPaths({ nodeSelector })).toEqual([]);
  });
});

describe("tolerations (ValidateTolerations)", () => {
  it.each([
    [{ key: "builders", operator: "Exists", value: "true" }, "value must be empty when operator is Exists"],
    [
      { key: "spot", value: "yes", effect: "NoSchedule", tolerationSeconds: 300 },
      "tolerationSeconds needs effect NoExecute",
    ],
    [{ key: "spot", tolerationSeconds: 300 }, "tolerationSeconds needs effect NoExecute (found no effect)"],
    [{ value: "x" }, "operator must be Exists when key is empty"],
    [{ operator: "Equal" }, "operator must be Exists when key is empty"],
    [{ key: "a b", operator: "Exists" }, 'key "a b": must be [prefix/]name'],
    [{ key: "k", value: "a/b" }, 'value "a/b": must be empty or'],
  ])("refuses %j in zod and the CRD, on the toleration", (toleration, problem) => {
    expect(tolerationProblems(toleration).join("; ")).toContain(problem);
    expect(zodErrors({ tolerations: [toleration] }).join("; ")).toContain(
      `spec.builder.tolerations[0]: ${problem}`,
    );
    expect(crdPaths({ tolerations: [toleration] })).toEqual(["spec.builder.tolerations[0]"]);
  });
  it.each([
    { operator: "Exists" },
    { key: "builders", operator: "Exists", effect: "NoSchedule" },
    { key: "spot", value: "yes", effect: "NoExecute", tolerationSeconds: 300 },
    { key: "example.com/dedicated", operator: "Equal", value: "" },
  ])("takes %j in both", (toleration) => {
    expect(zodErrors({ tolerations: [toleration] })).toEqual([]);
    expect(crdPaths({ tolerations: [toleration] })).toEqual([]);
  });
});

describe("resource names", () => {
  it.each([
    "cpu",
    "memory",
    "ephemeral-storage",
    "hugepages-2Mi",
    "nvidia.com/gpu",
    "example.com/foo",
    "kubernetes.io/x",
  ])("takes %s", (name) => expect(resourceNameProblem(name)).toBeUndefined());
  it.each([
    ["gpu", "must be cpu, memory, ephemeral-storage"],
    ["CPU", "must be cpu, memory, ephemeral-storage"],
    ["example.com/a b", "the name after '/'"],
    ["requests.example.com/gpu", "must not start with requests."],
    ["a/b/c", "at most one '/'"],
  ])("refuses %s", (name, problem) => expect(resourceNameProblem(name)).toContain(problem));
  it.each(["requests", "limits"])("zod and the CRD both refuse a bad name in %s, on the map", (kind) => {
    const builder = { resources: { [kind]: { gpu: 1 } } };
    expect(zodErrors(builder)).toEqual([
      `spec.builder.resources.${kind}: resource name "gpu": must be cpu, memory, ephemeral-storage, hugepages-<size> or a name with a domain such as example.com/gpu`,
    ]);
    expect(crdPaths(builder)).toEqual([`spec.builder.resources.${kind}`]);
  });
});

describe("requests against limits (ValidateResourceRequirements)", () => {
  it.each([
    [
      { requests: { cpu: "2" }, limits: { cpu: "1500m" } },
      "requests.cpu: must not exceed its limit 1500m (found 2)",
    ],
    [
      { requests: { memory: "1G" }, limits: { memory: "900Mi" } },
      "requests.memory: must not exceed its limit 900Mi (found 1G)",
    ],
    [
      { requests: { memory: "1e10" }, limits: { memory: "8Gi" } },
      "requests.memory: must not exceed its limit 8Gi (found 1e10)",
    ],
    [
      { requests: { "nvidia.com/gpu": 1 }, limits: { "nvidia.com/gpu": 2 } },
      "requests.nvidia.com/gpu: must equal its limit 2 (found 1)",
    ],
    [{ requests: { "nvidia.com/gpu": 1 } }, "limits.nvidia.com/gpu: must be set, equal to the request (1)"],
    [
      { limits: { "nvidia.com/gpu": "500m" } },
      "limits.nvidia.com/gpu: an extended resource must be a whole number (found 500m)",
    ],
    [
      {
        requests: { memory: "1Gi", "hugepages-2Mi": "1Gi" },
        limits: { memory: "1Gi", "hugepages-2Mi": "2Gi" },
      },
      "requests.hugepages-2Mi: must equal its limit 2Gi (found 1Gi)",
    ],
    [{ limits: { "hugepages-2Mi": "1Gi" } }, "hugepages need a cpu or memory request or limit"],
  ])("refuses %j, on spec.builder.resources", (resources, problem) => {
    expect(resourceAmountsProblems(resources)).toEqual([problem]);
    expect(zodErrors({ resources })).toEqual([`spec.builder.resources: ${problem}`]);
  });
  it.each([
    { requests: { cpu: "1500m", memory: "4Gi" }, limits: { cpu: "1.5", memory: "4Gi" } },
    { requests: { cpu: 1, memory: "1000M" }, limits: { memory: "1G" } },
    { requests: { memory: "1Gi" } },
    { limits: { "nvidia.com/gpu": 1 } },
    { requests: { "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": 1 } },
    { requests: { memory: "1Gi", "hugepages-2Mi": "1Gi" }, limits: { "hugepages-2Mi": "1Gi" } },
  ])("takes %j in both", (resources) => {
    expect(zodErrors({ resources })).toEqual([]);
    expect(crdPaths({ resources })).toEqual([]);
  });
});

describe("exact quantities", () => {
  it.each([
    ["1", "1000m", 0],
    ["1.5", "1500m", 0],
    ["1Gi", "1073741824", 0],
    ["1G", "1Gi", -1],
    ["1e3", "1k", 0],
    ["1E3", "999", 1],
    [".5", "500m", 0],
    ["0.1", "100m", 0],
    ["1n", "0", 1],
    [2, "2000m", 0],
  ] as const)("%s against %s is %d", (a, b, order) => expect(compareQuantities(a, b)).toBe(order));
  it("reads no quantity from a non-quantity", () =>
    expect(compareQuantities("2 cores", "1")).toBeUndefined());
  it.each([
    ["1", true],
    ["1k", true],
    ["1500m", false],
    ["2000m", true],
    ["1.5", false],
    ["1Ki", true],
  ] as const)("%s is whole: %s", (q, whole) => expect(isWholeQuantity(q)).toBe(whole));
});
