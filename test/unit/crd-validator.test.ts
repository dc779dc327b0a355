// The CRD validator is the stand-in for the API server in the example tests: it must reject what the
// API server rejects and accept what it accepts, or those tests prove nothing.
import { describe, expect, it } from "vitest";
import { imageBuildCrd, type JsonSchema } from "../../src/api/crd.js";
import { celErrors, crdValidator, formatCrdErrors, pointerToPath, toCel } from "../support/crd-validator.js";

const validate = crdValidator(imageBuildCrd());
const ib = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: "bib.dev/v1alpha1",
  kind: "ImageBuild",
  metadata: { name: "x", namespace: "default", labels: { a: "b" }, annotations: { "bib.dev/rebuild": "1" } },
  spec,
  ...extra,
});
const errors = (object: unknown) => formatCrdErrors(validate(object));

describe("crdValidator", () => {
  it("accepts a minimal ImageBuild with any metadata (ObjectMeta is not the CRD's to check)", () => {
    expect(errors(ib({ base: { image: "debian:bookworm" } }))).toEqual([]);
  });

  it("rejects two conditions of the same type, as a list map keyed by type", () => {
    const condition = (type: string) => ({
      type,
      status: "True",
      reason: "R",
      message: "",
      lastTransitionTime: "2026-11-24T00:00:00Z",
    });
    const withConditions = (...types: string[]) =>
      ib({ base: { image: "debian" } }, { status: { conditions: types.map(condition) } });
    expect(errors(withConditions("Built", "SpecValid"))).toEqual([]);
    expect(errors(withConditions("Built", "SpecValid", "Built"))).toEqual([
      'status.conditions[2]: Duplicate value: {"type":"Built"}',
    ]);
  });

  it("requires spec", () => {
    expect(errors({ apiVersion: "bib.dev/v1alpha1", kind: "ImageBuild", metadata: { name: "x" } })).toEqual([
      "spec: Required value",
    ]);
  });

  it("rejects unknown fields at any depth, as strict field validation does", () => {
    expect(errors(ib({ base: { image: "debian", imgae: "x" } }))).toEqual([
      'spec.base.imgae: unknown field "spec.base.imgae"',
    ]);
    expect(errors(ib({ base: { image: "debian" } }, { extra: 1 }))).toEqual(['extra: unknown field "extra"']);
  });

  it("keeps extraVars open (x-kubernetes-preserve-unknown-fields), however deep", () => {
    const spec = {
      base: { image: "debian" },
      provisioners: [{ ansible: { playbook: "- hosts: all", extraVars: { a: { b: [1, { c: true }] } } } }],
    };
    expect(errors(ib(spec))).toEqual([]);
  });

  it("takes an int-or-string quantity as integer or string, and applies the pattern to strings only", () => {
    expect(errors(ib({ base: { image: "debian" }, disk: { size: 4294967296 } }))).toEqual([]);
    expect(errors(ib({ base: { image: "debian" }, disk: { size: "4Gi" } }))).toEqual([]);
    expect(errors(ib({ base: { image: "debian" }, disk: { size: true } }))).toEqual([
      "spec.disk.size: Invalid value: true: spec.disk.size in body must be of type integer,string",
    ]);
  });

  it("reports type, enum and bound errors with kubectl's wording", () => {
    expect(
      errors(ib({ base: { image: "debian" }, builder: { retries: "3" }, deletionPolicy: "Orphan" })),
    ).toEqual([
      'spec.builder.retries: Invalid value: "3": spec.builder.retries in body must be of type integer',
      'spec.deletionPolicy: Unsupported value: "Orphan": supported values: "Retain", "Delete"',
    ]);
  });

  it("runs each CEL rule at its node and reports it at the node, or at its fieldPath", () => {
    expect(errors(ib({ base: {} }))).toEqual([
      'spec.base: Invalid value: "object": exactly one of image, debootstrap, tarball must be set',
    ]);
    expect(
      errors(ib({ base: { image: "debian" }, formats: ["raw"], publish: { oci: { repository: "r/x" } } })),
    ).toEqual([
      'spec.publish.oci: Invalid value: "object": a containerDisk is pushed from the qcow2 artifact: add qcow2 to formats',
    ]);
  });

  it("reads an absent field as the zod default in the spec-level rules (the CRD has no defaults)", () => {
    // formats defaults to [qcow2]: boot validation and an AMI are fine without formats.
    expect(
      errors(ib({ base: { image: "debian" }, publish: { aws: { region: "us-east-1", name: "ami-x" } } })),
    ).toEqual([]);
    // validate.boot.enabled defaults to true: formats [tgz] needs it switched off explicitly.
    expect(errors(ib({ base: { image: "debian" }, formats: ["tgz"], validate: { boot: {} } }))).toHaveLength(
      1,
    );
    expect(
      errors(ib({ base: { image: "debian" }, formats: ["tgz"], validate: { boot: { enabled: false } } })),
    ).toEqual([]);
  });
});

describe("celErrors", () => {
  it("reports a rule that fails to evaluate instead of passing it", () => {
    const schema: JsonSchema = {
      type: "object",
      "x-kubernetes-validations": [{ rule: "self.nope.size() > 0" }],
    };
    expect(celErrors(schema, { a: 1 })).toEqual([
      expect.objectContaining({
        path: "",
        message: expect.stringMatching(/rule self\.nope\.size\(\) > 0 failed/),
      }),
    ]);
  });

  it("binds objects as maps and integers as CEL ints", () => {
    expect(toCel({ a: [1, 1.5, "x"] })).toEqual(new Map([["a", [1n, 1.5, "x"]]]));
  });
});

it("pointerToPath names fields the way kubectl does", () => {
  expect(pointerToPath("/spec/files/0/mode")).toBe("spec.files[0].mode");
  expect(pointerToPath("/spec/builder/nodeSelector/a~1b")).toBe("spec.builder.nodeSelector.a/b");
  expect(pointerToPath("")).toBe("");
});
