import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { documentsYaml, renderDocuments } from "../../src/cli/commands/render.js";
import { parseManifests } from "../../src/cli/manifests.js";

const manifest = `
apiVersion: bib.dev/v1alpha1
kind: ImageBuild
metadata: {name: golden, namespace: images}
spec:
  base: {debootstrap: {suite: bookworm}}
  formats: [raw]
  publish:
    aws: {region: us-east-1, name: "golden-{{.Timestamp}}", credentialsSecretRef: {name: aws}}
---
apiVersion: v1
kind: Secret
metadata: {name: aws, namespace: images}
stringData: {AWS_ACCESS_KEY_ID: AKIDRENDER, AWS_SECRET_ACCESS_KEY: render-secret-value}
`;

describe("bib render", () => {
  const manifests = parseManifests(manifest, path.join("test", "render.yaml"));

  it("prints the ConfigMap, Secret and Job the operator would create, with Secret values redacted", () => {
    const docs = renderDocuments(manifests, {
      builderImage: "registry.test/builder:1",
      status: true,
      showSecrets: false,
    }) as Array<Record<string, unknown> & { kind: string }>;
    expect(docs.map((d) => d.kind)).toEqual(["ConfigMap", "Secret", "Job", "ImageBuildStatus"]);
    const text = JSON.stringify(docs);
    expect(text).not.toContain("render-secret-value");
    expect(docs[1]!.data).toEqual({
      "aws.AWS_ACCESS_KEY_ID": "<redacted>",
      "aws.AWS_SECRET_ACCESS_KEY": "<redacted>",
    });
    expect((docs[3]!.status as { phase: string }).phase).toBe("Pending");
  });

  it("prints YAML without anchors or aliases, which reads back as the same documents", () => {
    const docs = renderDocuments(manifests, {
      builderImage: "registry.test/builder:1",
      status: true,
      showSecrets: false,
    });
    const text = documentsYaml(docs);
    expect(text).not.toMatch(/[&*]a\d+\b/);
    expect(parseAllDocuments(text).map((d) => d.toJS() as unknown)).toEqual(docs);
  });

  it("shows the values only when asked", () => {
    const docs = renderDocuments(manifests, {
      builderImage: "b",
      status: false,
      showSecrets: true,
    }) as Array<{ kind: string; data?: Record<string, string> }>;
    const secret = docs.find((d) => d.kind === "Secret")!;
    expect(Buffer.from(secret.data!["aws.AWS_SECRET_ACCESS_KEY"]!, "base64").toString()).toBe(
      "render-secret-value",
    );
  });

  it("reports a missing Secret through the status instead of a Job", () => {
    const withoutSecret = parseManifests(manifest.split("---")[0]!, "x.yaml");
    const docs = renderDocuments(withoutSecret, {
      builderImage: "b",
      status: true,
      showSecrets: false,
    }) as Array<{ kind: string; status?: { message: string } }>;
    expect(docs.map((d) => d.kind)).toEqual(["ConfigMap", "ImageBuildStatus"]);
    expect(docs[1]!.status!.message).toBe('waiting for Secrets: Secret "aws" not found');
  });

  it("takes the builder image from BIB_BUILDER_IMAGE, read through the config module", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bib-render-"));
    try {
      writeFileSync(path.join(dir, "ib.yaml"), manifest);
      const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "render", "-f", path.join(dir, "ib.yaml")],
        { encoding: "utf8", env: { ...process.env, BIB_BUILDER_IMAGE: "registry.test/from-env:1" } },
      );
      expect(r.stderr).toBe("");
      const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
      const job = docs.find((d) => d.kind === "Job") as { spec: { template: { spec: unknown } } };
      expect(JSON.stringify(job.spec.template.spec)).toContain('"image":"registry.test/from-env:1"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
