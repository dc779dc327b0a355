// Properties of the hook service over its real HTTP app: any spec, valid or not, is answered with
// 200 (never a crash or a 500); the same request always gets the same response; child names are
// always valid. Time may enter only through conditions that change in the response and through the
// scheduling of a new build (its startTime and the Job's BUILD_TIMESTAMP).
import fc from "fast-check";
import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import { createApp } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createMetrics } from "../../src/server/metrics.js";
import { BUILDER_IMAGE, objectMap } from "../support/fixtures.js";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function appAt(time: string) {
  return createApp({
    hooks: createHooks({ builderImage: BUILDER_IMAGE }),
    logger: createLogger("silent"),
    metrics: createMetrics(),
    clock: () => new Date(time),
  });
}

const validPieces = {
  base: fc.constantFrom(
    { debootstrap: { suite: "bookworm" } },
    { image: "registry.test/base:1" },
    { tarball: { url: "https://example.org/r.tgz", sha256: "a".repeat(64) } },
  ),
  formats: fc.subarray(["qcow2", "raw", "vmdk", "vhd", "tgz"], { minLength: 1 }),
  disk: fc.record({ size: fc.constantFrom("2Gi", "8Gi", 4294967296, "1Ki", "x") }, { requiredKeys: [] }),
  publish: fc.record(
    {
      aws: fc.constant({
        region: "us-east-1",
        name: "ami-{{.Timestamp}}",
        credentialsSecretRef: { name: "aws" },
      }),
      oci: fc.constant({ repository: "registry.test/x", credentialsSecretRef: { name: "reg" } }),
    },
    { requiredKeys: [] },
  ),
  deletionPolicy: fc.constantFrom("Retain", "Delete", "Sometimes"),
};

/** Specs near the valid ones (most of the interesting branches) and arbitrary JSON. */
const spec = fc.oneof(
  fc.record(validPieces, { requiredKeys: ["base"] }),
  fc.record({ ...validPieces, junk: fc.anything() }, { requiredKeys: [] }),
  fc.anything(),
);

const parentName = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,80}[a-z0-9])?$/);
const status = fc.oneof(
  fc.constant(undefined),
  fc.anything(),
  fc.record({
    phase: fc.constantFrom("Pending", "Building", "Succeeded", "Failed"),
    buildId: fc.string({ maxLength: 16 }),
    startTime: fc.constantFrom("2026-11-23T09:00:00Z", "not a time"),
  }),
);

const request = fc.record({
  name: parentName,
  spec,
  status,
  rebuild: fc.option(fc.string(), { nil: undefined }),
  version: fc.constantFrom("v1" as const, "v2" as const),
  finalizing: fc.boolean(),
  secrets: fc.boolean(),
});

type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

function body(r: Request) {
  const secrets = r.secrets
    ? [
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "aws", namespace: "ns" },
          data: { AWS_ACCESS_KEY_ID: "YQ==", AWS_SECRET_ACCESS_KEY: "Yg==" },
        },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "reg", namespace: "ns" },
          data: { ".dockerconfigjson": "e30=" },
        },
      ]
    : [];
  return {
    controller: {},
    parent: {
      apiVersion: "bib.dev/v1alpha1",
      kind: "ImageBuild",
      metadata: {
        name: r.name,
        namespace: "ns",
        ...(r.rebuild !== undefined ? { annotations: { "bib.dev/rebuild": r.rebuild } } : {}),
      },
      spec: r.spec,
      ...(r.status !== undefined ? { status: r.status } : {}),
    },
    children: { "Job.batch/v1": {}, "ConfigMap.v1": {}, "Secret.v1": {} },
    related: objectMap(secrets, r.version),
    finalizing: r.finalizing,
  };
}

/** Blanks the times a response may legitimately take from the clock. */
function timeless(response: { status?: Record<string, unknown>; children?: unknown[] }, previous: unknown) {
  const prevConditions = ((previous as { conditions?: Array<{ type: string; status: string }> })
    ?.conditions ?? []) as Array<{
    type: string;
    status: string;
  }>;
  const text = JSON.stringify(response.children ?? []).replace(
    /"name":"BUILD_TIMESTAMP","value":"\d+"/g,
    '"name":"BUILD_TIMESTAMP","value":"T"',
  );
  const status = { ...(response.status ?? {}) };
  if ("startTime" in status) status.startTime = "T";
  status.conditions = ((status.conditions as Array<Record<string, string>>) ?? []).map((c) => {
    const before = prevConditions.find((p) => p.type === c.type);
    return before?.status === c.status ? c : { ...c, lastTransitionTime: "T" };
  });
  return { ...response, status, children: JSON.parse(text) };
}

describe("hook service properties", () => {
  const early = supertest(appAt("2026-11-23T10:00:00Z"));
  const late = supertest(appAt("2026-11-24T18:30:00Z"));

  it("answers every spec with 200, valid child names, and the same response for the same request", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const path = r.finalizing ? "/finalize" : "/sync";
        const a = await early.post(path).send(body(r));
        expect(a.status).toBe(200);
        const again = await early.post(path).send(body(r));
        expect(again.body).toEqual(a.body);
        const b = await late.post(path).send(body(r));
        expect(b.status).toBe(200);
        expect(timeless(b.body, r.status)).toEqual(timeless(a.body, r.status));
        for (const child of a.body.children as Array<{ kind: string; metadata: { name: string } }>) {
          expect(child.metadata.name.length).toBeLessThanOrEqual(63);
          expect(child.metadata.name).toMatch(DNS1123_LABEL);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("answers a malformed envelope with 400, never 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (junk) => {
        const res = await early.post("/sync").send({ parent: junk });
        expect([200, 400]).toContain(res.status);
      }),
      { numRuns: 200 },
    );
  });
});
