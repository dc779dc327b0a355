import type { V1Job } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import type { SyncResponse } from "../../src/hooks/types.js";
import {
  BUILDER_IMAGE,
  imageBuild,
  minimalSpec,
  podOf,
  secret,
  syncRequest,
  withJobStatus,
  type HookVersion,
} from "../support/fixtures.js";

const hooks = createHooks({ builderImage: BUILDER_IMAGE });
const T0 = new Date("2026-11-23T10:00:00Z");
const T1 = new Date("2026-11-23T10:10:00Z");

const awsSpec = {
  base: { debootstrap: { suite: "bookworm" } },
  formats: ["raw"],
  publish: {
    aws: { region: "us-east-1", name: "capa-ami-{{.Timestamp}}", credentialsSecretRef: { name: "aws" } },
  },
};
const awsSecret = secret("aws", { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "s3cr3t-value" });
const result = {
  artifacts: [{ format: "raw", size: 1024, sha256: "a".repeat(64), location: "s3://b/debian.raw" }],
  images: [
    {
      provider: "aws",
      region: "us-east-1",
      imageId: "ami-0123",
      snapshotId: "snap-0123",
      name: "capa-ami-1",
    },
  ],
};

function kinds(r: SyncResponse) {
  return r.children.map((c) => c.kind).sort();
}
function condition(r: SyncResponse, type: string) {
  return r.status.conditions?.find((c) => c.type === type);
}
function jobOf(r: SyncResponse): V1Job {
  return r.children.find((c) => c.kind === "Job") as unknown as V1Job;
}

/** Runs sync once from nothing: its answer, and the parent once Metacontroller wrote that status. */
function firstSync(spec: unknown, related: object[] = [], version: HookVersion = "v1") {
  const first = hooks.sync(syncRequest(imageBuild(spec), [], related, { version }), T0);
  return { first, parent: imageBuild(spec, {}, first.status) };
}

/** The children of `first` as observed later, with the Job in the state `job` shows. */
function observedWith(first: SyncResponse, job: V1Job): object[] {
  return first.children.map((c) => (c.kind === "Job" ? job : c));
}

describe("sync: invalid spec", () => {
  it("answers with SpecValid=False naming the field, phase Failed and no children", () => {
    const r = hooks.sync(syncRequest(imageBuild({ base: { debootstrap: {} }, disk: { size: "huge" } })), T0);
    expect(r.children).toEqual([]);
    expect(r.status.phase).toBe("Failed");
    const specValid = condition(r, "SpecValid");
    expect(specValid?.status).toBe("False");
    expect(specValid?.message).toContain("spec.base.debootstrap.suite");
    expect(specValid?.message).toContain("spec.disk.size");
    expect(r.status.message).toContain("spec.disk.size");
  });

  // Each of these once got SpecValid=True and a Job the API server refused, leaving the ImageBuild
  // in Building until its deadline.
  it.each([
    [{ nodeSelector: { "node role": "builder" } }, 'spec.builder.nodeSelector: key "node role"'],
    [{ nodeSelector: { accelerator: "gpu/a100" } }, 'spec.builder.nodeSelector: value "gpu/a100"'],
    [
      { tolerations: [{ key: "k", operator: "Exists", value: "v" }] },
      "spec.builder.tolerations[0]: value must be empty",
    ],
    [
      { tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 60 }] },
      "spec.builder.tolerations[0]: tolerationSeconds needs effect NoExecute",
    ],
    [{ resources: { limits: { gpu: 1 } } }, 'spec.builder.resources.limits: resource name "gpu"'],
    [
      { resources: { requests: { memory: "8Gi" }, limits: { memory: "4Gi" } } },
      "spec.builder.resources: requests.memory: must not exceed its limit 4Gi",
    ],
  ])("refuses a builder the API server would refuse as a Pod: %j", (builder, message) => {
    const r = hooks.sync(syncRequest(imageBuild({ ...minimalSpec, builder })), T0);
    expect(r.children).toEqual([]);
    expect(condition(r, "SpecValid")).toMatchObject({ status: "False" });
    expect(condition(r, "SpecValid")?.message).toContain(message);
  });

  it("says what type a field expected and what it found, rather than calling it missing", () => {
    const r = hooks.sync(
      syncRequest(imageBuild({ ...minimalSpec, packages: "vim", builder: { nodeSelector: ["a"] } })),
      T0,
    );
    expect(r.status.message).toBe(
      "invalid spec: spec.packages: expected a list of strings, got a string; spec.builder.nodeSelector: expected a map of strings, got a list",
    );
  });

  it("drops the children of an earlier valid spec", () => {
    const { first } = firstSync(minimalSpec);
    const r = hooks.sync(syncRequest(imageBuild({ base: {} }, {}, first.status), first.children), T1);
    expect(r.children).toEqual([]);
  });

  it("rejects inline content that does not fit in a ConfigMap", () => {
    const big = "x".repeat(400 * 1024);
    const spec = { ...minimalSpec, files: [1, 2, 3].map((i) => ({ path: `/f${i}`, content: big })) };
    const r = hooks.sync(syncRequest(imageBuild(spec)), T0);
    expect(r.children).toEqual([]);
    expect(condition(r, "SpecValid")?.message).toMatch(/more than a ConfigMap holds/);
  });
});

describe("sync: secrets", () => {
  it("creates no Job while a referenced Secret is missing", () => {
    const r = hooks.sync(syncRequest(imageBuild(awsSpec)), T0);
    expect(kinds(r)).toEqual(["ConfigMap"]);
    expect(r.status.phase).toBe("Pending");
    expect(condition(r, "SecretsResolved")).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(condition(r, "SecretsResolved")?.message).toBe('Secret "aws" not found');
  });

  it("names a missing key", () => {
    const partial = secret("aws", { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE" });
    const r = hooks.sync(syncRequest(imageBuild(awsSpec), [], [partial]), T0);
    expect(kinds(r)).toEqual(["ConfigMap"]);
    expect(condition(r, "SecretsResolved")).toMatchObject({ status: "False", reason: "SecretKeyNotFound" });
    expect(condition(r, "SecretsResolved")?.message).toContain('has no key "AWS_SECRET_ACCESS_KEY"');
  });

  it("projects exactly the referenced keys, base64 as stored, and never leaks a value", () => {
    const withExtra = secret("aws", {
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "s3cr3t-value",
      UNRELATED: "other-secret",
    });
    const r = hooks.sync(syncRequest(imageBuild(awsSpec), [], [withExtra]), T0);
    expect(kinds(r)).toEqual(["ConfigMap", "Job", "Secret"]);
    const projected = r.children.find((c) => c.kind === "Secret") as unknown as {
      data: Record<string, string>;
    };
    expect(projected.data).toEqual({
      "aws.AWS_ACCESS_KEY_ID": withExtra.data.AWS_ACCESS_KEY_ID,
      "aws.AWS_SECRET_ACCESS_KEY": withExtra.data.AWS_SECRET_ACCESS_KEY,
    });
    const visible = JSON.stringify([r.status, r.children.filter((c) => c.kind !== "Secret")]);
    for (const value of ["s3cr3t-value", "AKIDEXAMPLE", withExtra.data.AWS_SECRET_ACCESS_KEY]) {
      expect(visible).not.toContain(value);
    }
  });
});

describe("sync: build lifecycle", () => {
  it.each<HookVersion>(["v1", "v2"])("creates ConfigMap and Job named <name>-<id> (hook %s)", (version) => {
    const r = hooks.sync(syncRequest(imageBuild(minimalSpec), [], [], { version }), T0);
    expect(kinds(r)).toEqual(["ConfigMap", "Job"]);
    const id = r.status.buildId!;
    expect(r.children.map((c) => c.metadata.name)).toEqual([
      `debian-${id.slice(0, 10)}`,
      `debian-${id.slice(0, 10)}`,
    ]);
    expect(r.status.phase).toBe("Pending");
    expect(r.status.startTime).toBe("2026-11-23T10:00:00Z");
  });

  it("answers v1 and v2 requests for the same state identically", () => {
    const { first, parent } = firstSync(minimalSpec);
    const running = withJobStatus(jobOf(first));
    const pod = podOf(running, { base: { exitCode: 0 }, provision: { running: true } });
    const v1 = hooks.sync(syncRequest(parent, observedWith(first, running), [pod]), T1);
    const v2 = hooks.sync(
      syncRequest(parent, observedWith(first, running), [pod], {
        version: "v2",
      }),
      T1,
    );
    expect(v2).toEqual(v1);
    expect(v1.status).toMatchObject({ phase: "Building", stage: "provision" });
  });

  it.each([
    [{ base: { running: true } }, "base"],
    [{ base: { exitCode: 0 }, provision: { exitCode: 0 }, package: { running: true } }, "package"],
    [
      {
        base: { exitCode: 0 },
        provision: { exitCode: 0 },
        package: { exitCode: 0 },
        validate: { running: true },
      },
      "validate",
    ],
    [
      {
        base: { exitCode: 0 },
        provision: { exitCode: 0 },
        package: { exitCode: 0 },
        validate: { exitCode: 0 },
        publish: { running: true },
      },
      "publish",
    ],
  ] as const)("reports the stage from the Pod's containers (%j -> %s)", (states, stage) => {
    const { first, parent } = firstSync(minimalSpec);
    const job = withJobStatus(jobOf(first));
    const r = hooks.sync(syncRequest(parent, [job], [podOf(job, states)]), T1);
    expect(r.status.stage).toBe(stage);
    expect(r.status.phase).toBe("Building");
  });

  it("records artifacts and images from the termination message on success", () => {
    const { first, parent } = firstSync(awsSpec, [awsSecret]);
    const job = withJobStatus(jobOf(first), "Complete");
    const pod = podOf(job, {
      base: { exitCode: 0 },
      provision: { exitCode: 0 },
      package: { exitCode: 0 },
      validate: { exitCode: 0 },
      publish: { exitCode: 0, message: JSON.stringify(result) },
    });
    const r = hooks.sync(syncRequest(parent, observedWith(first, job), [pod, awsSecret]), T1);
    expect(r.status.phase).toBe("Succeeded");
    expect(r.status.stage).toBeUndefined();
    expect(r.status.completionTime).toBe("2026-11-23T10:05:00Z");
    expect(r.status.artifacts).toEqual([{ ...result.artifacts[0], buildId: r.status.buildId }]);
    expect(r.status.images).toEqual([{ ...result.images[0], buildId: r.status.buildId }]);
    expect(condition(r, "Ready")).toMatchObject({ status: "True" });
    expect(condition(r, "Published")).toMatchObject({ status: "True", reason: "Published" });
  });

  it("reports the failing stage and the builder's message on failure", () => {
    const { first, parent } = firstSync(minimalSpec);
    const job = withJobStatus(jobOf(first), "Failed", { reason: "BackoffLimitExceeded" });
    const pod = podOf(job, {
      base: { exitCode: 0 },
      provision: {
        exitCode: 2,
        message: 'provision: ansible task "Install nginx" failed: No package matching nginx2',
      },
    });
    const r = hooks.sync(syncRequest(parent, [job], [pod]), T1);
    expect(r.status).toMatchObject({ phase: "Failed", stage: "provision" });
    expect(r.status.message).toBe(
      'provision: ansible task "Install nginx" failed: No package matching nginx2',
    );
    expect(condition(r, "Built")).toMatchObject({ status: "False", reason: "BuildFailed" });
    expect(condition(r, "Ready")).toMatchObject({ status: "False", reason: "BuildFailed" });
  });

  it("hides the build's Secret values in a container's message before it reaches status", () => {
    const vaultSpec = {
      ...awsSpec,
      provisioners: [
        { ansible: { playbook: "- hosts: all", extraVarsSecretRef: { name: "vault", key: "vars.yml" } } },
      ],
    };
    const vault = secret("vault", { "vars.yml": "db_password: hunter2-db\napi_token: tok-123456\n" });
    const { first, parent } = firstSync(vaultSpec, [awsSecret, vault]);
    const job = withJobStatus(jobOf(first), "Failed", { reason: "BackoffLimitExceeded" });
    // A log tail (FallbackToLogsOnError) long enough to be cut, with a secret across the cut.
    const tail = `${"x".repeat(965)} s3cr3t-value`;
    const pod = podOf(job, {
      base: { exitCode: 0 },
      provision: { exitCode: 2, message: `task failed: login with hunter2-db and tok-123456\n${tail}` },
    });
    const r = hooks.sync(syncRequest(parent, [job], [pod, awsSecret, vault]), T1);
    expect(r.status.phase).toBe("Failed");
    const text = JSON.stringify(r.status);
    for (const value of ["hunter2-db", "tok-123456", "s3cr3t", "s3cr"]) expect(text).not.toContain(value);
    expect(r.status.message).toMatch(/^task failed: login with \[REDACTED\] and \[REDACTED\] \| x+ \[REDA…$/);
  });

  it("explains a deadline", () => {
    const { first, parent } = firstSync({ ...minimalSpec, builder: { timeoutSeconds: 600 } });
    const job = withJobStatus(jobOf(first), "Failed", { reason: "DeadlineExceeded" });
    const r = hooks.sync(syncRequest(parent, [job], [podOf(job, { base: { running: true } })]), T1);
    expect(r.status.message).toBe(
      "build did not finish within spec.builder.timeoutSeconds (600s) (at stage base)",
    );
  });

  it("never re-creates the Job of a finished build", () => {
    const { first, parent } = firstSync(minimalSpec);
    const job = withJobStatus(jobOf(first), "Complete");
    const pod = podOf(job, { publish: { exitCode: 0, message: '{"artifacts":[],"images":[]}' } });
    const done = hooks.sync(syncRequest(parent, observedWith(first, job), [pod]), T1);
    expect(done.status.phase).toBe("Succeeded");
    const afterDelete = hooks.sync(
      syncRequest(imageBuild(minimalSpec, {}, done.status), []),
      new Date("2026-11-24T00:00:00Z"),
    );
    expect(afterDelete.children).toEqual([]);
    expect(afterDelete.status).toEqual(done.status);
  });

  it("does not start a build again when its Job vanished while it ran", () => {
    const { first, parent } = firstSync(minimalSpec);
    const job = withJobStatus(jobOf(first));
    const building = hooks.sync(syncRequest(parent, [job], [podOf(job, { base: { running: true } })]), T1);
    expect(building.status.phase).toBe("Building");
    const r = hooks.sync(syncRequest(imageBuild(minimalSpec, {}, building.status), []), T1);
    expect(r.children.filter((c) => c.kind === "Job")).toEqual([]);
    expect(r.status.phase).toBe("Failed");
    expect(r.status.message).toContain("bib.dev/rebuild");
  });

  it("keeps the scheduled timestamp while the Job is not yet observed (stale cache)", () => {
    const { first, parent } = firstSync(minimalSpec);
    const again = hooks.sync(syncRequest(parent, []), T1);
    expect(jobOf(again)).toEqual(jobOf(first));
    expect(again.status).toEqual(first.status);
  });

  it("starts a new build on a spec change or a new rebuild annotation, keeping earlier outputs", () => {
    const { first, parent } = firstSync(awsSpec, [awsSecret]);
    const job = withJobStatus(jobOf(first), "Complete");
    const pod = podOf(job, { publish: { exitCode: 0, message: JSON.stringify(result) } });
    const done = hooks.sync(syncRequest(parent, [job], [pod, awsSecret]), T1);
    const rebuilt = imageBuild(awsSpec, { annotations: { "bib.dev/rebuild": "2026-11-24" } }, done.status);
    const r = hooks.sync(syncRequest(rebuilt, observedWith(first, job), [awsSecret]), T1);
    expect(r.status.buildId).not.toBe(done.status.buildId);
    expect(r.status.phase).toBe("Pending");
    const names = new Set(r.children.map((c) => c.metadata.name));
    expect(names.size).toBe(1);
    expect(names.has(first.children[0]!.metadata.name)).toBe(false);
    expect(r.status.images).toEqual(done.status.images);
  });

  it("keeps every recorded output when one entry is one this version cannot read", () => {
    // Written by a newer version: a format and a provider this one does not know.
    const newer = {
      format: "iso",
      size: 9,
      sha256: "b".repeat(64),
      location: "s3://b/x.iso",
      buildId: "old1",
    };
    const gcp = { provider: "gcp", project: "p", image: "img-1", buildId: "old1" };
    const ami = { ...result.images[0], buildId: "old1", arch: "x86_64" };
    const status = {
      phase: "Succeeded",
      buildId: "old1",
      artifacts: [newer, { ...result.artifacts[0], buildId: "old1" }],
      images: [gcp, ami],
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Succeeded",
          message: "m",
          lastTransitionTime: "2026-11-01T00:00:00Z",
        },
      ],
    };
    const r = hooks.sync(syncRequest(imageBuild(awsSpec, {}, status), [], [awsSecret]), T0);
    expect(r.status.phase).toBe("Pending");
    expect(r.status.artifacts).toEqual([{ ...result.artifacts[0], buildId: "old1" }, newer]);
    expect(r.status.images).toEqual([gcp, ami]);
    // The rest of status is still read: Ready was True since the earlier build, and changed now.
    expect(condition(r, "Ready")?.lastTransitionTime).toBe("2026-11-23T10:00:00Z");
    const invalid = hooks.sync(syncRequest(imageBuild({}, {}, status)), T0);
    expect(invalid.status.images).toEqual([gcp, ami]);
    expect(invalid.status.artifacts).toEqual([{ ...result.artifacts[0], buildId: "old1" }, newer]);
  });

  it("changes nothing on a repeated sync once converged (no churn)", () => {
    const { first, parent } = firstSync(minimalSpec);
    const job = withJobStatus(jobOf(first));
    const pod = podOf(job, { base: { exitCode: 0 }, provision: { running: true } });
    const a = hooks.sync(syncRequest(parent, observedWith(first, job), [pod]), T1);
    const settled = imageBuild(minimalSpec, {}, a.status);
    const b = hooks.sync(
      syncRequest(settled, observedWith(first, job), [pod]),
      new Date("2026-11-23T11:00:00Z"),
    );
    expect(b).toEqual(a);
  });
});

describe("sync: the build Job", () => {
  it("is not privileged, mounts no host path, and bounds retries and time", () => {
    const r = hooks.sync(
      syncRequest(imageBuild({ ...minimalSpec, builder: { retries: 2, timeoutSeconds: 1800 } })),
      T0,
    );
    const job = jobOf(r);
    expect(job.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 1800 });
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes!.some((v) => v.hostPath)).toBe(false);
    for (const c of [...pod.initContainers!, ...pod.containers]) {
      expect(c.securityContext?.privileged).toBe(false);
      expect(c.securityContext?.capabilities?.drop).toEqual(["ALL"]);
      expect(c.image).toBe(BUILDER_IMAGE);
    }
    expect(pod.initContainers!.map((c) => c.name)).toEqual(["base", "provision", "package", "validate"]);
    expect(pod.containers.map((c) => c.name)).toEqual(["publish"]);
  });

  it("runs an image base in the base image itself with an injected copier", () => {
    const r = hooks.sync(
      syncRequest(
        imageBuild({
          base: { image: "docker.io/library/debian:bookworm" },
          validate: { boot: { enabled: false } },
        }),
      ),
      T0,
    );
    const init = jobOf(r).spec!.template.spec!.initContainers!;
    expect(init.map((c) => [c.name, c.image])).toEqual([
      ["inject-tools", BUILDER_IMAGE],
      ["base", "docker.io/library/debian:bookworm"],
      ["provision", BUILDER_IMAGE],
      ["package", BUILDER_IMAGE],
    ]);
  });

  it("takes scheduling, resources, the cache and the output volume from the spec", () => {
    const spec = {
      ...minimalSpec,
      publish: { volume: { claimName: "images", path: "builds/" } },
      builder: {
        image: "registry.test/custom-builder:1",
        resources: { requests: { cpu: 2, memory: "4Gi" } },
        nodeSelector: { "kubernetes.io/arch": "amd64" },
        tolerations: [{ key: "builders", operator: "Exists", effect: "NoSchedule" }],
        serviceAccountName: "image-builder",
        cacheClaimName: "bib-cache",
      },
    };
    const pod = jobOf(hooks.sync(syncRequest(imageBuild(spec)), T0)).spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64" });
    expect(pod.tolerations).toHaveLength(1);
    expect(pod.serviceAccountName).toBe("image-builder");
    expect(pod.containers[0]!.image).toBe("registry.test/custom-builder:1");
    expect(pod.containers[0]!.resources).toEqual({ requests: { cpu: "2", memory: "4Gi" } });
    const claims = pod.volumes!.flatMap((v) =>
      v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
    );
    expect(claims.sort()).toEqual(["bib-cache", "images"]);
    expect(pod.volumes!.find((v) => v.name === "workspace")?.emptyDir?.sizeLimit).toBe("14Gi");
  });
});

describe("customize", () => {
  it("asks for the build Pods by label and the referenced Secrets by name", () => {
    const spec = {
      ...awsSpec,
      provisioners: [
        { ansible: { playbook: "- hosts: all", extraVarsSecretRef: { name: "vault", key: "v" } } },
      ],
    };
    expect(hooks.customize({ parent: imageBuild(spec) } as never)).toEqual({
      relatedResources: [
        {
          apiVersion: "v1",
          resource: "pods",
          namespace: "images",
          labelSelector: { matchLabels: { "bib.dev/imagebuild": "debian" } },
        },
        { apiVersion: "v1", resource: "secrets", namespace: "images", names: ["aws", "vault"] },
      ],
    });
  });

  it("still finds Secrets in an invalid spec", () => {
    const r = hooks.customize({
      parent: imageBuild({ publish: { s3: { credentialsSecretRef: { name: "s3" } } } }),
    } as never);
    expect(r.relatedResources[1]).toMatchObject({ names: ["s3"] });
  });
});
