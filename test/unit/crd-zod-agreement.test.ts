// The CRD is generated from the zod schema but checks some rules with its own means (CEL with the zod
// defaults spelled out, patterns standing in for refinements). Two properties keep them in step:
// the API server never rejects a spec the operator accepts, and for the rules both implement, both
// report the same fields.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { imageBuildCrd } from "../../src/api/crd.js";
import { FORMATS } from "../../src/api/schema.js";
import { validateSpec } from "../../src/api/validate.js";
import { crdValidator } from "../support/crd-validator.js";
import { imageBuild } from "../support/fixtures.js";

const validateCrd = crdValidator(imageBuildCrd());

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

// Specs around the rules the CRD implements on its own: formats, boot validation, oci and aws
// publishing, quantities, AMI names, the exactly-one-of choices, the build Pod's scheduling and resources.
const specs = fc
  .record({
    base: fc.constantFrom<Record<string, unknown>>(
      { image: "debian:bookworm" },
      { debootstrap: { suite: "bookworm" } },
      { tarball: { url: "https://x.example/r.tgz", sha256: "a".repeat(64) } },
      {},
      { image: "debian", debootstrap: { suite: "bookworm" } },
    ),
    formats: optional(fc.array(fc.constantFrom(...FORMATS, "iso"), { minLength: 0, maxLength: 6 })),
    validate: optional(
      fc.constantFrom<Record<string, unknown>>(
        {},
        { boot: {} },
        { boot: { enabled: true } },
        { boot: { enabled: false } },
      ),
    ),
    oci: optional(fc.constant({ repository: "registry.example.org/images/debian" })),
    aws: optional(
      fc.record({
        region: fc.constant("us-east-1"),
        name: fc.constantFrom(
          "golden",
          "capa-ami-{{.Timestamp}}",
          "x-{{ .Name }}-{{.BuildID}}",
          "x-{{.Version}}",
          "bad{name}",
          "ab",
          "a (b) [c] d/e_f'g@h",
        ),
      }),
    ),
    size: optional(
      fc.constantFrom<string | number>("4Gi", "8GB", "512Mi", "1.5Gi", 4294967296, "100Mi", "3Ti"),
    ),
    cpu: optional(fc.constantFrom<string | number>("500m", "2", 2, "1.5", "1e3", "-1", "2 cores")),
    // The build Pod's rules (Kubernetes' label, toleration and resource-name syntax).
    pod: optional(
      fc.constantFrom<Record<string, unknown>>(
        { nodeSelector: { "kubernetes.io/arch": "amd64" } },
        { nodeSelector: { "node role": "x" } },
        { nodeSelector: { k: "a/b" } },
        { nodeSelector: { "Example.com/k": "v" } },
        { tolerations: [{ operator: "Exists" }] },
        { tolerations: [{ key: "k", operator: "Exists", value: "v" }] },
        { tolerations: [{ key: "k", effect: "NoSchedule", tolerationSeconds: 5 }] },
        { tolerations: [{ value: "v" }] },
        { tolerations: [{ key: "a b", operator: "Exists" }] },
        { resources: { limits: { "example.com/gpu": 1 } } },
        { resources: { limits: { gpu: 1 } } },
        { resources: { limits: { "requests.example.com/gpu": 1 } } },
      ),
    ),
    provisioner: optional(
      fc.constantFrom<Record<string, unknown>>(
        { shell: { script: "true" } },
        { ansible: { playbook: "- hosts: all" } },
        { shell: { script: "true" }, ansible: { playbook: "x" } },
        { ansible: { playbook: "x", git: { url: "https://g.example/r.git", path: "site.yml" } } },
        { ansible: {} },
        {},
      ),
    ),
  })
  .map((s) =>
    defined({
      base: s.base,
      formats: s.formats,
      validate: s.validate,
      disk: s.size === undefined ? undefined : { size: s.size },
      builder:
        s.cpu === undefined && s.pod === undefined
          ? undefined
          : {
              ...s.pod,
              ...(s.cpu === undefined
                ? {}
                : { resources: { ...(s.pod?.resources as object), requests: { cpu: s.cpu } } }),
            },
      provisioners: s.provisioner === undefined ? undefined : [s.provisioner],
      publish: s.oci || s.aws ? defined({ oci: s.oci, aws: s.aws }) : undefined,
    }),
  );

describe("the CRD and the zod schema", () => {
  it("agree: the API server never rejects a spec the operator accepts", () => {
    fc.assert(
      fc.property(specs, (spec) => {
        if (validateSpec(spec).ok) expect(validateCrd(imageBuild(spec))).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it("both reject what either rejects, and the API server names every field the operator names", () => {
    // zod-only refinements (e.g. the disk size range) are left out of the comparison.
    const ZOD_ONLY = new Set(["spec.disk.size: must be between 512Mi and 2Ti"]);
    fc.assert(
      fc.property(specs, (spec) => {
        const result = validateSpec(spec);
        const zodPaths = result.ok
          ? []
          : result.errors.filter((e) => !ZOD_ONLY.has(`${e.path}: ${e.message}`)).map((e) => e.path);
        const crdPaths = new Set(validateCrd(imageBuild(spec)).map((e) => e.path));
        expect(crdPaths.size > 0).toBe(zodPaths.length > 0);
        // zod stops at the first failing check of a field (an over-long list is not parsed item by
        // item) and skips the spec-level rules when a field fails; the API server reports them all.
        for (const path of zodPaths) expect([...crdPaths]).toContain(path);
      }),
      { numRuns: 500 },
    );
  });

  it("refuse AWS tags AWS would refuse at publish time, at the same path", () => {
    const withTags = (tags: Record<string, string>) => ({
      base: { image: "debian:bookworm" },
      formats: ["raw"],
      publish: { aws: { region: "us-east-1", name: "golden-{{.Timestamp}}", tags } },
    });
    const many = Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`t${i}`, "v"]));
    for (const tags of [many, { ["k".repeat(128)]: "v" }, { "AWS:team": "x" }, { team: "v".repeat(256) }]) {
      const zod = validateSpec(withTags(tags));
      expect(zod.ok).toBe(false);
      const crdPaths = validateCrd(imageBuild(withTags(tags))).map((e) => e.path);
      expect(crdPaths.length).toBeGreaterThan(0);
      if (!zod.ok) expect(crdPaths.every((p) => p.startsWith("spec.publish.aws.tags"))).toBe(true);
    }
    const fortySix = Object.fromEntries(Object.entries(many).slice(0, 46));
    expect(validateSpec(withTags(fortySix)).ok).toBe(true);
    expect(validateCrd(imageBuild(withTags(fortySix)))).toEqual([]);
  });
});
