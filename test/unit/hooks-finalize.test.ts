import type { V1Job } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import type { SyncResponse } from "../../src/hooks/types.js";
import { validateChild, type ChildObject } from "../support/k8s-validate.js";
import { BUILDER_IMAGE, imageBuild, podOf, secret, syncRequest, withJobStatus } from "../support/fixtures.js";

const hooks = createHooks({ builderImage: BUILDER_IMAGE });
const now = new Date("2026-11-23T12:00:00Z");

const spec = (deletionPolicy: "Retain" | "Delete") => ({
  base: { debootstrap: { suite: "bookworm" } },
  formats: ["raw"],
  publish: {
    aws: { region: "us-east-1", name: "capa-ami-{{.Timestamp}}", credentialsSecretRef: { name: "aws" } },
    s3: { bucket: "images", credentialsSecretRef: { name: "s3" } },
  },
  provisioners: [
    { ansible: { playbook: "- hosts: all", extraVarsSecretRef: { name: "vault", key: "vars" } } },
  ],
  deletionPolicy,
});
const published = {
  phase: "Succeeded",
  buildId: "0123456789abcdef",
  images: [
    {
      provider: "aws",
      region: "us-east-1",
      imageId: "ami-1",
      snapshotId: "snap-1",
      buildId: "0123456789abcdef",
    },
  ],
  artifacts: [
    {
      format: "raw",
      size: 10,
      sha256: "a".repeat(64),
      location: "s3://images/debian.raw",
      buildId: "0123456789abcdef",
    },
    {
      format: "raw",
      size: 10,
      sha256: "a".repeat(64),
      location: "pvc://images/debian.raw",
      buildId: "0123456789abcdef",
    },
  ],
};
const secrets = [
  secret("aws", { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "key" }),
  secret("s3", { AWS_ACCESS_KEY_ID: "id2", AWS_SECRET_ACCESS_KEY: "key2" }),
  secret("vault", { vars: "{}" }),
];

function finalizing(
  s: unknown,
  status: unknown,
  children: object[] = [],
  related: object[] = secrets,
): SyncResponse {
  return hooks.finalize(syncRequest(imageBuild(s, {}, status), children, related, { finalizing: true }), now);
}
const cleanupJob = (r: SyncResponse) => r.children.find((c) => c.kind === "Job") as unknown as V1Job;

describe("finalize", () => {
  it("with Retain finishes at once and keeps what was published", () => {
    const r = finalizing(spec("Retain"), published);
    expect(r.finalized).toBe(true);
    expect(r.children).toEqual([]);
    expect(r.status.phase).toBe("Deleting");
    expect(r.status.images).toEqual(published.images);
  });

  it("with Delete cleans up every entry it can identify, and is not finalized while one names something it cannot", () => {
    const iso = {
      format: "iso",
      size: 9,
      sha256: "b".repeat(64),
      location: "s3://images/x.iso",
      buildId: "old1",
    };
    const gcp = { provider: "gcp", project: "p", image: "img-1" };
    const status = {
      ...published,
      artifacts: [iso, ...published.artifacts],
      images: [gcp, ...published.images],
    };
    const r = finalizing(spec("Delete"), status);
    expect(r.finalized).toBe(false);
    const configMap = r.children[0] as unknown as { data: Record<string, string> };
    expect(JSON.parse(configMap.data["cleanup.json"]!)).toEqual({
      artifacts: [{ location: iso.location }, { location: published.artifacts[0]!.location }],
      images: published.images.map(({ buildId: _b, ...image }) => image),
    });
    expect(r.status.message).toContain("cannot clean up what status.images[0] names");
    expect(r.status.images).toEqual(status.images);
    expect(r.status.artifacts).toEqual(status.artifacts);

    const job = withJobStatus(cleanupJob(r), "Complete");
    const done = finalizing(spec("Delete"), status, [job]);
    expect(done.finalized).toBe(false);
    expect(done.status.message).toMatch(
      /^deleted 3 published item\(s\); cannot clean up what status\.images\[0\] names/,
    );

    const onlyUnknown = finalizing(spec("Delete"), { phase: "Succeeded", buildId: "x", images: [gcp] });
    expect(onlyUnknown.finalized).toBe(false);
    expect(onlyUnknown.status.message).not.toContain("nothing was published");
  });

  it("with Delete never asks for a cleanup ConfigMap the API server would refuse (over 1 MiB)", () => {
    const images = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        provider: "aws",
        region: "us-east-1",
        imageId: `ami-${String(i).padStart(17, "0")}`,
        snapshotId: `snap-${String(i).padStart(17, "0")}`,
        name: `capa-ami-debian-12-v1.31.2-${1795428000 + i}`,
        buildId: "0123456789abcdef",
      }));
    // Thousands of entries fit once cleanup.json holds only what cleanup acts on.
    const many = finalizing(spec("Delete"), { ...published, images: images(6000) });
    expect(many.children.map((c) => c.kind)).toEqual(["ConfigMap", "Secret", "Job"]);
    for (const child of many.children) expect(validateChild(child as ChildObject)).toEqual([]);
    const cm = many.children[0] as unknown as { data: Record<string, string> };
    expect(JSON.parse(cm.data["cleanup.json"]!).images).toHaveLength(6000);

    const tooMany = finalizing(spec("Delete"), { ...published, images: images(20000) });
    expect(tooMany.finalized).toBe(false);
    expect(tooMany.children).toEqual([]);
    expect(tooMany.status.message).toMatch(
      /^cannot clean up 20001 published item\(s\): the list takes \d+ KiB, more than the cleanup Job's ConfigMap holds \(1000 KiB\)/,
    );
  });

  it("with Delete and nothing published finishes at once", () => {
    const r = finalizing(spec("Delete"), { phase: "Failed", buildId: "x" });
    expect(r.finalized).toBe(true);
  });

  it("with Delete runs a cleanup Job that gets exactly the external targets and credentials", () => {
    const r = finalizing(spec("Delete"), published);
    expect(r.finalized).toBe(false);
    expect(r.children.map((c) => c.kind)).toEqual(["ConfigMap", "Secret", "Job"]);
    const cm = r.children[0] as unknown as { data: Record<string, string> };
    expect(JSON.parse(cm.data["cleanup.json"]!)).toEqual({
      images: published.images.map(({ buildId: _b, ...image }) => image),
      artifacts: [{ location: published.artifacts[0]!.location }],
    });
    const projected = r.children[1] as unknown as { data: Record<string, string> };
    expect(Object.keys(projected.data).sort()).toEqual([
      "aws.AWS_ACCESS_KEY_ID",
      "aws.AWS_SECRET_ACCESS_KEY",
      "s3.AWS_ACCESS_KEY_ID",
      "s3.AWS_SECRET_ACCESS_KEY",
    ]);
    expect(cleanupJob(r).spec!.template.spec!.containers[0]!.command).toEqual(["bib", "cleanup"]);
    expect(r.status.message).toBe("deleting 2 published item(s)");
  });

  it("reports a failing cleanup attempt while the Job retries", () => {
    const first = finalizing(spec("Delete"), published);
    const job = withJobStatus(cleanupJob(first));
    const failedPod = podOf(job, {
      cleanup: { exitCode: 1, message: "publish.aws (us-east-1): credentials rejected: AuthFailure" },
    });
    const r = finalizing(
      spec("Delete"),
      first.status,
      [...first.children.slice(0, 2), job],
      [...secrets, failedPod],
    );
    expect(r.finalized).toBe(false);
    expect(r.status.message).toBe(
      "cleanup failed (attempt 1): publish.aws (us-east-1): credentials rejected: AuthFailure; retrying",
    );
    expect(r.children.map((c) => c.kind)).toEqual(["ConfigMap", "Secret", "Job"]);
  });

  it("hides the credentials' values in the cleanup Pod's message before it reaches status", () => {
    const related = [
      secret("aws", { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE1", AWS_SECRET_ACCESS_KEY: "wJalr-s3cr3t-key" }),
      ...secrets.slice(1),
    ];
    const first = finalizing(spec("Delete"), published, [], related);
    const job = withJobStatus(cleanupJob(first));
    // A log tail long enough to be cut, with a secret across the cut.
    const tail = `${"x".repeat(969)} wJalr-s3cr3t-key`;
    const failedPod = podOf(job, {
      cleanup: { exitCode: 1, message: `publish.aws: signing with AKIAEXAMPLE1 rejected\n${tail}` },
    });
    const r = finalizing(
      spec("Delete"),
      first.status,
      [...first.children.slice(0, 2), job],
      [...related, failedPod],
    );
    const text = JSON.stringify(r.status);
    for (const value of ["AKIAEXAMPLE1", "wJalr-s3cr3t-key", "wJalr"]) expect(text).not.toContain(value);
    expect(r.status.message).toMatch(
      /^cleanup failed \(attempt 1\): publish\.aws: signing with \[REDACTED\] rejected \| x+ \[REDA…; retrying$/,
    );
  });

  it("finishes only once the cleanup Job succeeded", () => {
    const first = finalizing(spec("Delete"), published);
    const done = withJobStatus(cleanupJob(first), "Complete");
    const r = finalizing(spec("Delete"), first.status, [...first.children.slice(0, 2), done]);
    expect(r.finalized).toBe(true);
    expect(r.children).toEqual([]);
    expect(r.status.message).toBe("deleted 2 published item(s)");
  });

  it("reuses the build's projected Secret when the user's Secret is already gone", () => {
    // The buildId of the spec decides the names; name the build's Secret after it.
    const probe = finalizing(spec("Delete"), published);
    const id = (probe.children[0]!.metadata.labels as Record<string, string>)["bib.dev/build-id"]!;
    const buildSecret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `debian-${id.slice(0, 10)}`, namespace: "images" },
      data: {
        "aws.AWS_ACCESS_KEY_ID": "aWQ=",
        "aws.AWS_SECRET_ACCESS_KEY": "a2V5",
        "provisioner-0.extra-vars": "e30=",
      },
    };
    const r = finalizing(spec("Delete"), published, [buildSecret], []);
    const projected = r.children.find((c) => c.kind === "Secret") as unknown as {
      data: Record<string, string>;
    };
    expect(projected.data).toEqual({ "aws.AWS_ACCESS_KEY_ID": "aWQ=", "aws.AWS_SECRET_ACCESS_KEY": "a2V5" });
  });

  it("says what is missing instead of finishing when no credentials can be found", () => {
    const r = finalizing(spec("Delete"), published, [], []);
    expect(r.finalized).toBe(false);
    expect(r.children).toEqual([]);
    expect(r.status.message).toContain('Secret "aws" not found');
  });
});
