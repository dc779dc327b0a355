import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quantityToBytes, bytesToQuantity } from "../../src/api/quantity.js";
import { childName, computeBuildId, labelValue } from "../../src/plan/names.js";
import { resolvePlan } from "../../src/plan/plan.js";
import { imageBuild } from "../support/fixtures.js";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const parentName = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);

describe("buildId", () => {
  const spec = {
    base: { debootstrap: { suite: "bookworm", variant: "minbase" } },
    formats: ["qcow2", "tgz"],
  };

  it("does not depend on key order", () => {
    const reordered = {
      formats: ["qcow2", "tgz"],
      base: { debootstrap: { variant: "minbase", suite: "bookworm" } },
    };
    expect(computeBuildId(reordered, undefined)).toBe(computeBuildId(spec, undefined));
  });

  it("changes with the spec and with the rebuild annotation", () => {
    const id = computeBuildId(spec, undefined);
    expect(computeBuildId({ ...spec, formats: ["qcow2"] }, undefined)).not.toBe(id);
    expect(computeBuildId(spec, "2026-11-23T10:00:00Z")).not.toBe(id);
    expect(computeBuildId(spec, "2026-11-23T10:00:00Z")).not.toBe(computeBuildId(spec, "2026-11-24"));
  });

  it("ignores metadata other than the rebuild annotation", () => {
    const a = resolvePlan(
      imageBuild(spec, { name: "a", annotations: { "example.com/owner": "x" }, generation: 3 }),
    );
    const b = resolvePlan(imageBuild(spec, { name: "a", generation: 9 }));
    expect(a.buildId).toBe(b.buildId);
  });

  it("hashes the spec as stored, not as defaulted", () => {
    // Defaults are applied by the plan, not by the API server, so an operator upgrade that changes
    // a default leaves every stored spec, and so every buildId, as it was.
    expect(computeBuildId({ ...spec, disk: { size: "4Gi" } }, undefined)).not.toBe(
      computeBuildId(spec, undefined),
    );
  });
});

describe("childName", () => {
  it("is <name>-<first 10 characters of the buildId> when that fits", () => {
    expect(childName("debian-12", "0123456789abcdef")).toBe("debian-12-0123456789");
  });

  it("is always a DNS-1123 label of at most 63 characters", () => {
    fc.assert(
      fc.property(parentName, fc.stringMatching(/^[0-9a-f]{16}$/), (name, id) => {
        const child = childName(name, id, "-cleanup");
        expect(child.length).toBeLessThanOrEqual(63);
        expect(child).toMatch(DNS1123_LABEL);
        expect(childName(name, id)).toMatch(DNS1123_LABEL);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives different parents different child names even when shortened", () => {
    const long = "a".repeat(70);
    expect(childName(`${long}-x`, "0123456789abcdef")).not.toBe(childName(`${long}-y`, "0123456789abcdef"));
    expect(childName("a.b", "0123456789abcdef")).not.toBe(childName("a-b", "0123456789abcdef"));
  });

  it("label values are valid and distinct for long names", () => {
    fc.assert(
      fc.property(parentName, (name) => {
        const value = labelValue(name);
        expect(value.length).toBeLessThanOrEqual(63);
        expect(value).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
      }),
    );
    expect(labelValue("x".repeat(64))).not.toBe(labelValue(`${"x".repeat(63)}y`));
  });
});

describe("quantities", () => {
  it.each([
    ["4Gi", 4 * 2 ** 30],
    ["512Mi", 512 * 2 ** 20],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["8G", 8e9],
    [1073741824, 2 ** 30],
    ["8 Gi", undefined],
    ["-1Gi", undefined],
    ["1gi", undefined],
  ])("%s -> %s bytes", (q, bytes) => {
    expect(quantityToBytes(q)).toBe(bytes);
  });

  it("round-trips binary units", () => {
    expect(bytesToQuantity(8 * 2 ** 30)).toBe("8Gi");
    expect(bytesToQuantity(3 * 2 ** 20)).toBe("3Mi");
    expect(bytesToQuantity(1000)).toBe("1000");
  });
});

describe("resolvePlan", () => {
  it("fills defaults and keeps inline contents as assets", () => {
    const r = resolvePlan(
      imageBuild({
        base: { tarball: { url: "file:///tmp/root.tar.gz", sha256: "a".repeat(64) } },
        files: [{ path: "/etc/motd", content: "golden\n" }],
        provisioners: [
          { shell: { script: "echo hi" } },
          { name: "harden", ansible: { playbook: "- hosts: all" } },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan.disk).toEqual({ sizeBytes: 4 * 2 ** 30, filesystem: "ext4", bootMode: "uefi" });
    expect(r.plan.formats).toEqual(["qcow2"]);
    expect(r.plan.deletionPolicy).toBe("Retain");
    expect(r.plan.files).toEqual([{ path: "/etc/motd", mode: "0644", asset: "file-0" }]);
    expect(r.plan.provisioners.map((p) => p.name)).toEqual(["shell-0", "harden"]);
    expect(r.plan.assets).toEqual({
      "file-0": "golden\n",
      "provisioner-0-script.sh": "echo hi",
      "provisioner-1-playbook.yml": "- hosts: all",
    });
  });

  it("projects only the referenced secret keys", () => {
    const r = resolvePlan(
      imageBuild({
        ...{ base: { image: "debian:bookworm" } },
        provisioners: [
          { ansible: { playbook: "- hosts: all", extraVarsSecretRef: { name: "vault", key: "vars.json" } } },
        ],
        publish: { oci: { repository: "registry.test/img", credentialsSecretRef: { name: "reg" } } },
      }),
    );
    expect(r.ok && r.plan.secrets).toEqual([
      { name: "vault", key: "vars.json", file: "provisioner-0.extra-vars", optional: false },
      { name: "reg", key: ".dockerconfigjson", file: "oci.dockerconfigjson", optional: false },
    ]);
  });

  it("names every invalid field by its path", () => {
    const r = resolvePlan(imageBuild({ base: {}, disk: { size: "lots" }, formats: ["iso"] }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.errors.map((e) => e.path);
    expect(paths).toContain("spec.base");
    expect(paths).toContain("spec.disk.size");
    expect(paths).toContain("spec.formats[0]");
  });
});
