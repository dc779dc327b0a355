// Golden request/response pairs for the hooks: any change to what the operator renders shows up
// as a diff of these files. Regenerate deliberately with UPDATE_GOLDEN=1.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { V1Job } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import type { SyncRequest } from "../../src/hooks/types.js";
import { sortKeys } from "../../src/plan/canonical-json.js";
import { BUILDER_IMAGE, imageBuild, podOf, secret, syncRequest, withJobStatus } from "../support/fixtures.js";

const hooks = createHooks({ builderImage: BUILDER_IMAGE });
const now = new Date("2026-11-23T10:00:00Z");
const dir = path.resolve(import.meta.dirname, "../golden");

const spec = {
  base: { debootstrap: { suite: "bookworm", include: ["systemd-sysv"] } },
  packages: ["openssh-server"],
  files: [{ path: "/etc/motd", content: "golden\n" }],
  provisioners: [
    { name: "site", ansible: { playbook: "- hosts: all\n  tasks: []\n", extraVars: { k8s: "1.31.2" } } },
  ],
  formats: ["qcow2", "raw"],
  publish: {
    aws: {
      region: "us-east-1",
      name: "capa-ami-debian-12-{{.Timestamp}}",
      credentialsSecretRef: { name: "aws" },
    },
  },
  deletionPolicy: "Delete",
};
const aws = secret("aws", { AWS_ACCESS_KEY_ID: "AKIDGOLDEN", AWS_SECRET_ACCESS_KEY: "golden-secret" });

function scenarios(): Record<string, { hook: "sync" | "finalize"; request: SyncRequest }> {
  const created = hooks.sync(syncRequest(imageBuild(spec), [], [aws]), now);
  const parent = imageBuild(spec, {}, created.status);
  const job = created.children.find((c) => c.kind === "Job") as unknown as V1Job;
  const others = created.children.filter((c) => c.kind !== "Job");
  const running = withJobStatus(job);
  const complete = withJobStatus(job, "Complete");
  const result = {
    artifacts: [
      { format: "qcow2", size: 123, sha256: "b".repeat(64), location: "pvc://images/debian.qcow2" },
    ],
    images: [
      {
        provider: "aws",
        region: "us-east-1",
        imageId: "ami-0abc",
        snapshotId: "snap-0abc",
        name: "capa-ami-debian-12-1795428000",
      },
    ],
  };
  const done = podOf(complete, {
    base: { exitCode: 0 },
    provision: { exitCode: 0 },
    package: { exitCode: 0 },
    validate: { exitCode: 0 },
    publish: { exitCode: 0, message: JSON.stringify(result) },
  });
  const succeeded = hooks.sync(syncRequest(parent, [...others, complete], [aws, done]), now);
  return {
    "sync-new-build": { hook: "sync", request: syncRequest(imageBuild(spec), [], [aws]) },
    "sync-missing-secret": { hook: "sync", request: syncRequest(imageBuild(spec)) },
    "sync-invalid-spec": { hook: "sync", request: syncRequest(imageBuild({ ...spec, formats: ["iso"] })) },
    "sync-running": {
      hook: "sync",
      request: syncRequest(
        parent,
        [...others, running],
        [aws, podOf(running, { base: { exitCode: 0 }, provision: { running: true } })],
      ),
    },
    "sync-succeeded": { hook: "sync", request: syncRequest(parent, [...others, complete], [aws, done]) },
    "finalize-delete": {
      hook: "finalize",
      request: syncRequest(imageBuild(spec, {}, succeeded.status), [], [aws], {
        finalizing: true,
        version: "v2",
      }),
    },
  };
}

describe("golden hook responses", () => {
  for (const [name, { hook, request }] of Object.entries(scenarios())) {
    it(name, () => {
      const response = sortKeys(hooks[hook](request, now));
      const file = path.join(dir, `${name}.json`);
      const text = `${JSON.stringify({ request: sortKeys(request), response }, null, 2)}\n`;
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, text);
      expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(JSON.parse(text));
    });
  }
});
