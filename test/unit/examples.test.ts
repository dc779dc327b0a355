// The examples are documentation users copy from: every valid one must pass both the zod schema (what
// the hooks and `bib validate` use) and the CRD (what the API server uses), and every invalid one must
// fail in both, with the errors its sibling *.errors.txt documents.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageBuildCrd } from "../../src/api/crd.js";
import { quantityToBytes } from "../../src/api/quantity.js";
import { validateSpec } from "../../src/api/validate.js";
import { validationReport } from "../../src/cli/commands/validate.js";
import { findConfigMap, findSecret, loadManifests, type Manifests } from "../../src/cli/manifests.js";
import { crdValidator, formatCrdErrors } from "../support/crd-validator.js";

const validateCrd = crdValidator(imageBuildCrd());
const yamlIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(dir, f));

const examples = yamlIn("examples");
const invalid = yamlIn("examples/invalid");

it("has the examples the README promises", () => {
  expect(examples.map((f) => f.replace("examples/", ""))).toEqual(
    expect.arrayContaining([
      "debian-12.yaml",
      "capi-aws-ami.yaml",
      "kubevirt-containerdisk.yaml",
      "s3-and-volume.yaml",
      "from-image.yaml",
      "from-tarball.yaml",
      "configmap-playbook.yaml",
    ]),
  );
  expect(invalid.length).toBeGreaterThanOrEqual(14);
});

/** Every `{name, key}` reference of a spec to a ConfigMap or Secret key, as [kind, name, key]. */
function keyRefs(spec: unknown): Array<["ConfigMap" | "Secret", string, string]> {
  const provisioners = (
    spec as { provisioners?: Array<{ ansible?: Record<string, { name: string; key: string }> }> }
  ).provisioners;
  return (provisioners ?? []).flatMap(({ ansible }) => [
    ...(ansible?.configMapRef
      ? [["ConfigMap", ansible.configMapRef.name, ansible.configMapRef.key] as const]
      : []),
    ...(ansible?.extraVarsSecretRef
      ? [["Secret", ansible.extraVarsSecretRef.name, ansible.extraVarsSecretRef.key] as const]
      : []),
  ]) as Array<["ConfigMap" | "Secret", string, string]>;
}

describe.each(examples)("%s", (file) => {
  let manifests: Manifests;
  const load = async () => (manifests ??= await loadManifests([file]));

  it("starts with a comment saying what it builds", () => {
    expect(readFileSync(file, "utf8")).toMatch(/^# \S/);
  });

  it("holds ImageBuilds that the zod schema accepts", async () => {
    const { imageBuilds, problems } = await load();
    expect(imageBuilds.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(validationReport(manifests).errors).toEqual([]);
    for (const ib of imageBuilds) expect(validateSpec(ib.spec)).toMatchObject({ ok: true });
  });

  it("holds ImageBuilds that the CRD accepts as the API server would", async () => {
    for (const ib of (await load()).imageBuilds) expect(formatCrdErrors(validateCrd(ib.object))).toEqual([]);
  });

  it("carries the ConfigMaps and Secrets whose keys its provisioners reference", async () => {
    const m = await load();
    for (const ib of m.imageBuilds) {
      for (const [kind, name, key] of keyRefs(ib.spec)) {
        const found =
          kind === "ConfigMap"
            ? findConfigMap(m, ib.namespace, name)?.data
            : findSecret(m, ib.namespace, name)?.data;
        expect(found, `${kind} ${ib.namespace}/${name}`).toBeDefined();
        expect(Object.keys(found!), `${kind} ${name} key ${key}`).toContain(key);
      }
      const aws = (ib.spec as { publish?: { aws?: { credentialsSecretRef?: { name: string } } } }).publish
        ?.aws;
      const awsSecret =
        aws?.credentialsSecretRef && findSecret(m, ib.namespace, aws.credentialsSecretRef.name);
      if (awsSecret)
        expect(Object.keys(awsSecret.data)).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    }
  });
});

describe("the local quickstart, examples/debian-12.yaml", () => {
  it("builds locally: debootstrap, a 2Gi-4Gi disk, serial console, qcow2 + raw + tgz, boot validation", async () => {
    const [ib] = (await loadManifests(["examples/debian-12.yaml"])).imageBuilds;
    const result = validateSpec(ib!.spec);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const { spec } = result;
    expect(spec.base.debootstrap?.suite).toBe("bookworm");
    const bytes = quantityToBytes(spec.disk.size)!;
    expect(bytes).toBeGreaterThanOrEqual(2 * 2 ** 30);
    expect(bytes).toBeLessThanOrEqual(4 * 2 ** 30);
    expect(spec.kernel.cmdline).toContain("console=ttyS0");
    expect(spec.formats).toEqual(["qcow2", "raw", "tgz"]);
    expect(spec.validate.boot.enabled).toBe(true);
    expect(spec.provisioners.map((p) => Object.keys(p).filter((k) => k !== "name"))).toEqual([
      ["ansible"],
      ["shell"],
    ]);
    expect(spec.publish).toEqual({});
  });
});

describe("the Cluster API example", () => {
  it("publishes an AMI named as CAPA looks it up, copied to another region, deleted with the ImageBuild", async () => {
    const [ib] = (await loadManifests(["examples/capi-aws-ami.yaml"])).imageBuilds;
    const result = validateSpec(ib!.spec);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.spec.publish.aws).toMatchObject({
      name: "capa-ami-debian-12-v1.31.2-{{.Timestamp}}",
      copyToRegions: ["eu-west-1"],
      credentialsSecretRef: { name: "aws-image-builder" },
    });
    expect(result.spec.deletionPolicy).toBe("Delete");
  });
});

describe.each(invalid)("%s", (file) => {
  const expectedLines = () =>
    readFileSync(file.replace(/\.yaml$/, ".errors.txt"), "utf8")
      .split("\n")
      .filter(Boolean);
  const crdPaths = () => [...readFileSync(file, "utf8").matchAll(/^# crd: (\S+)$/gm)].map((m) => m[1]);

  it("is rejected by `bib validate` with the errors in its .errors.txt", async () => {
    const report = validationReport(await loadManifests([file]));
    expect(report.ok).toEqual([]);
    expect(report.errors).toEqual(expectedLines());
  });

  it("is rejected by the API server at the paths in its `# crd:` lines", async () => {
    const { imageBuilds } = await loadManifests([file]);
    expect(imageBuilds).toHaveLength(1);
    const errors = validateCrd(imageBuilds[0]!.object);
    expect(crdPaths().length).toBeGreaterThan(0);
    expect([...new Set(errors.map((e) => e.path))].sort()).toEqual(crdPaths().sort());
  });

  it("fails on the same fields in both", async () => {
    const zodPaths = expectedLines().map((l) => l.split(": ")[2]);
    expect([...new Set(zodPaths)].sort()).toEqual(crdPaths().sort());
  });
});
