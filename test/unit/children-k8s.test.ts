import type { V1Container } from "@kubernetes/client-node";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import type { KubeObject } from "../../src/hooks/types.js";
import { BUILDER_IMAGE, imageBuild, secret, syncRequest } from "../support/fixtures.js";
import { validateChild } from "../support/k8s-validate.js";

const hooks = createHooks({ builderImage: BUILDER_IMAGE });
const now = new Date("2026-11-23T10:00:00Z");

const everything = {
  base: { image: "registry.test/base/debian:12" },
  packages: ["openssh-server", "cloud-init"],
  files: [{ path: "/etc/motd", content: "golden\n", mode: "0644" }],
  provisioners: [
    {
      name: "site",
      ansible: {
        configMapRef: { name: "playbooks", key: "site.yml" },
        extraVars: { a: 1 },
        extraVarsSecretRef: { name: "vault", key: "vars.json" },
      },
    },
    { ansible: { git: { url: "https://git.test/p.git", ref: "main", path: "site.yml" } } },
    { shell: { script: "echo hi" } },
  ],
  kernel: { cmdline: ["console=ttyS0"] },
  disk: { size: "8Gi" },
  formats: ["qcow2", "raw", "vmdk", "vhd", "tgz"],
  publish: {
    volume: { claimName: "images", path: "builds/" },
    s3: { bucket: "images", region: "eu-west-1", credentialsSecretRef: { name: "s3" } },
    oci: { repository: "registry.test/images/debian", tag: "12", credentialsSecretRef: { name: "reg" } },
    aws: { region: "us-east-1", name: "capa-ami-{{.Timestamp}}", credentialsSecretRef: { name: "aws" } },
  },
  builder: {
    resources: { requests: { cpu: 2, memory: "4Gi" }, limits: { memory: "8Gi" } },
    nodeSelector: { "kubernetes.io/arch": "amd64" },
    tolerations: [{ key: "builders", operator: "Exists", effect: "NoSchedule" }],
    serviceAccountName: "builder",
    cacheClaimName: "bib-cache",
    retries: 1,
  },
  deletionPolicy: "Delete",
};

const secrets = [
  secret("vault", { "vars.json": '{"password":"x"}' }),
  secret("s3", { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }),
  secret("aws", { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b", AWS_SESSION_TOKEN: "c" }),
  secret("reg", { ".dockerconfigjson": '{"auths":{}}' }),
];

function exampleSpecs(): Array<[string, unknown, string]> {
  const dir = path.resolve(import.meta.dirname, "../../examples");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(dir, file), "utf8"))
      .map((d) => d.toJS() as { kind?: string; spec?: unknown; metadata?: { name?: string } })
      .filter((d) => d?.kind === "ImageBuild")
      .map((d): [string, unknown, string] => [file, d.spec, d.metadata?.name ?? "example"]),
  );
}

const cases: Array<[string, unknown, string]> = [
  ["minimal", { base: { debootstrap: { suite: "bookworm" } } }, "debian"],
  ["everything", everything, "debian"],
  ["a long dotted name", { base: { debootstrap: { suite: "bookworm" } } }, `${"node.images.".repeat(20)}x`],
  ...exampleSpecs(),
];

describe("rendered children validate against Kubernetes' schemas", () => {
  it.each(cases)("build children for %s", (_label, spec, name) => {
    const r = hooks.sync(syncRequest(imageBuild(spec, { name }), [], secrets), now);
    expect(r.status.phase, r.status.message).not.toBe("Failed");
    expect(r.children.length).toBeGreaterThan(0);
    for (const child of r.children) expect(validateChild(child)).toEqual([]);
  });

  it("cleanup children", () => {
    const status = {
      buildId: "x",
      phase: "Succeeded",
      images: [{ provider: "aws", region: "us-east-1", imageId: "ami-1", snapshotId: "snap-1" }],
      artifacts: [{ format: "qcow2", size: 1, sha256: "a", location: "s3://images/x.qcow2" }],
    };
    const r = hooks.finalize(
      syncRequest(imageBuild(everything, {}, status), [], secrets, { finalizing: true }),
      now,
    );
    expect(r.children.map((c) => c.kind)).toEqual(["ConfigMap", "Secret", "Job"]);
    for (const child of r.children) expect(validateChild(child)).toEqual([]);
  });
});

describe("the validator itself", () => {
  const job = () =>
    hooks
      .sync(syncRequest(imageBuild({ base: { debootstrap: { suite: "bookworm" } } })), now)
      .children.find((c) => c.kind === "Job")! as KubeObject & {
      metadata: { name: string };
      spec: {
        template: {
          spec: { containers: Array<Record<string, unknown>>; initContainers?: V1Container[] };
        };
      };
    };

  it("rejects an unknown field", () => {
    const j = job();
    (j.spec as Record<string, unknown>).bogus = true;
    expect(validateChild(j)).toEqual([expect.stringContaining(".spec.bogus: unknown field")]);
  });

  it("rejects allowPrivilegeEscalation: false with CAP_SYS_ADMIN, as the API server does", () => {
    const j = job();
    const c = j.spec.template.spec.initContainers!.find((i) => i.name === "provision")!;
    expect(c.securityContext?.capabilities?.add).toContain("SYS_ADMIN");
    c.securityContext = { ...c.securityContext, allowPrivilegeEscalation: false };
    expect(validateChild(j).join()).toContain("allowPrivilegeEscalation");
  });

  // What the API server's Pod validation refuses (pkg/apis/core/validation): a renderer that passed
  // a bad nodeSelector, toleration or resources through would fail here.
  it.each<[string, (spec: Record<string, unknown>, c: Record<string, unknown>) => void, string]>([
    [
      "a label key with a space",
      (s) => (s.nodeSelector = { "node role": "x" }),
      "invalid label key node role",
    ],
    [
      "a label value with a '/'",
      (s) => (s.nodeSelector = { accelerator: "gpu/a100" }),
      "invalid label value",
    ],
    [
      "an Exists toleration with a value",
      (s) => (s.tolerations = [{ key: "k", operator: "Exists", value: "v" }]),
      "value must be empty when operator is Exists",
    ],
    [
      "tolerationSeconds without NoExecute",
      (s) => (s.tolerations = [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 }]),
      "must be NoExecute when tolerationSeconds is set",
    ],
    [
      "an empty key without Exists",
      (s) => (s.tolerations = [{ value: "v" }]),
      "must be Exists when key is empty",
    ],
    [
      "a resource name without a domain",
      (_s, c) => (c.resources = { limits: { gpu: "1" } }),
      "not a valid resource name",
    ],
    [
      "a request above its limit",
      (_s, c) => (c.resources = { requests: { memory: "2Gi" }, limits: { memory: "1Gi" } }),
      "must be less than or equal to memory limit",
    ],
    [
      "an extended resource requested below its limit",
      (_s, c) => (c.resources = { requests: { "example.com/gpu": "1" }, limits: { "example.com/gpu": "2" } }),
      "must be equal to example.com/gpu limit",
    ],
  ])("rejects %s, as the API server does", (_label, spoil, message) => {
    const j = job();
    const spec = j.spec.template.spec as Record<string, unknown>;
    spoil(spec, j.spec.template.spec.containers[0]!);
    expect(validateChild(j).join("\n")).toContain(message);
  });

  it("takes valid scheduling and resources", () => {
    const j = job();
    const spec = j.spec.template.spec as Record<string, unknown>;
    spec.nodeSelector = { "kubernetes.io/arch": "amd64", pool: "" };
    spec.tolerations = [
      { operator: "Exists" },
      { key: "spot", value: "y", effect: "NoExecute", tolerationSeconds: 5 },
    ];
    j.spec.template.spec.containers[0]!.resources = {
      requests: { cpu: "1500m", "example.com/gpu": "1" },
      limits: { cpu: "1.5", "example.com/gpu": "1" },
    };
    expect(validateChild(j)).toEqual([]);
  });

  it("rejects a schema violation", () => {
    const j = job();
    j.spec.template.spec.containers[0]!.image = 42;
    expect(validateChild(j).join()).toContain("must be string");
  });
});
