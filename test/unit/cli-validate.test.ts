import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateFiles } from "../../src/cli/commands/validate.js";

const dir = mkdtempSync(join(tmpdir(), "bib-validate-"));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function validate(...paths: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await validateFiles(paths, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const imageBuild = (name: string, spec: string, extra = "") => `apiVersion: bib.dev/v1alpha1
kind: ImageBuild
metadata:
  name: ${name}
${extra}spec:
${spec}
`;

describe("bib validate (command line)", () => {
  // One real process per outcome: the wiring in main.ts, the exit code and the streams.
  const bib = (args: string[], input?: string) =>
    spawnSync("npx", ["tsx", "src/cli/main.ts", "validate", ...args], { encoding: "utf8", input });

  it("prints ok <namespace>/<name> and exits 0 for valid ImageBuilds from several -f", () => {
    const r = bib(["-f", "examples/debian-12.yaml", "-f", "examples/configmap-playbook.yaml"]);
    expect(r.stdout.trim().split("\n")).toEqual(["ok default/debian-12", "ok default/debian-12-hardened"]);
    expect(r.status).toBe(0);
  });

  it("prints FILE: name: field: message per error on stderr and exits 1", () => {
    const r = bib(["-f", "examples/invalid/bad-sha256.yaml"]);
    expect(r.stderr).toContain(
      "examples/invalid/bad-sha256.yaml: bad-sha256: spec.base.tarball.sha256: must be 64 lower-case hex digits\n",
    );
    expect(r.stdout).toBe("");
    expect(r.status).toBe(1);
  });

  it("exits 2 for input that is not YAML, naming the line", () => {
    const r = bib(["-f", "-"], "apiVersion: bib.dev/v1alpha1\nkind: [ImageBuild\n");
    expect(r.stderr).toMatch(/^<stdin>:\d+:\d+: /m);
    expect(r.status).toBe(2);
  });
});

describe("validateFiles", () => {
  it("exits 2 for a file that cannot be read", async () => {
    const r = await validate(join(dir, "missing.yaml"));
    expect(r).toMatchObject({ code: 2, out: [] });
    expect(r.err[0]).toMatch(/missing\.yaml: cannot read: ENOENT/);
  });

  it("exits 2 for invalid YAML with file:line:column, and checks nothing else", async () => {
    const bad = write(
      "bad.yaml",
      `${imageBuild("ok", "  base: {image: debian}")}---\nkind: x\n  bad: indent\n`,
    );
    const r = await validate(bad);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^${bad}:8:\\d+: `));
  });

  it("exits 2 for duplicate keys, as the API server's strict decoding rejects them", async () => {
    const r = await validate(
      write("dup.yaml", imageBuild("dup", "  base: {image: debian}\n  base: {image: ubuntu}")),
    );
    expect(r.code).toBe(2);
  });

  it("reports every invalid document and still prints ok for the valid ones", async () => {
    const file = write(
      "mixed.yaml",
      [
        imageBuild("good", "  base: {image: debian}", "  namespace: images\n"),
        imageBuild("bad", "  base: {image: debian}\n  formats: [qcow2, qcow2]\n  disk: {size: 1Ti2}"),
      ].join("---\n"),
    );
    const r = await validate(file);
    expect(r.code).toBe(1);
    expect(r.out).toEqual(["ok images/good"]);
    expect(r.err).toEqual([
      `${file}: bad: spec.disk.size: must be a quantity such as 8Gi`,
      `${file}: bad: spec.formats: must not list a format twice`,
    ]);
  });

  it("checks apiVersion and metadata.name of an ImageBuild", async () => {
    const file = write(
      "meta.yaml",
      [
        imageBuild("Not_A_Name", "  base: {image: debian}").replace("v1alpha1", "v1"),
        "apiVersion: bib.dev/v1alpha1\nkind: ImageBuild\nspec:\n  base: {image: debian}\n",
      ].join("---\n"),
    );
    const r = await validate(file);
    expect(r.err).toEqual([
      `${file}: Not_A_Name: apiVersion: must be bib.dev/v1alpha1`,
      `${file}: Not_A_Name: metadata.name: must be a lower-case DNS-1123 subdomain of at most 253 characters`,
      `${file}: <document 2>: metadata: required field is missing`,
      `${file}: <document 2>: metadata.name: required field is missing`,
    ]);
    expect(r.code).toBe(1);
  });

  it("checks ConfigMaps and Secrets lightly: string data, base64 Secret data", async () => {
    const file = write(
      "refs.yaml",
      [
        imageBuild("refs", "  base: {image: debian}"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  replicas: 3\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  token: not base64!\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ignored}\nspec: {whatever: 1}\n",
      ].join("---\n"),
    );
    const r = await validate(file);
    expect(r.out).toEqual(["ok default/refs"]);
    expect(r.err).toEqual([
      `${file}: cm: data.replicas: must be a string (quote numbers and booleans)`,
      `${file}: s: data.token: must be base64 (use stringData for plain text)`,
    ]);
    expect(r.code).toBe(1);
  });

  it("reports references to ConfigMaps and Secrets in the same files that lack the keys the build reads", async () => {
    const spec = [
      "  base: {image: debian}",
      "  provisioners:",
      "    - ansible:",
      "        configMapRef: {name: books, key: site.yml}",
      "        extraVarsSecretRef: {name: vault, key: vars.json}",
      "  publish:",
      "    aws: {region: us-east-1, name: golden, credentialsSecretRef: {name: aws}}",
      "    oci: {repository: registry.example.org/x, credentialsSecretRef: {name: not-in-the-files}}",
    ].join("\n");
    const file = write(
      "keys.yaml",
      [
        imageBuild("keys", spec),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: books}\ndata: {other.yml: x}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: vault}\nstringData: {vars.json: '{}'}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: aws}\nstringData: {AWS_ACCESS_KEY_ID: x}\n",
        // Same name, other namespace: not what the ImageBuild in default refers to.
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: books, namespace: other}\ndata: {site.yml: x}\n",
      ].join("---\n"),
    );
    const r = await validate(file);
    expect(r.err).toEqual([
      `${file}: keys: spec.provisioners[0].ansible.configMapRef.key: ConfigMap default/books in ${file} has no key "site.yml"`,
      `${file}: keys: spec.publish.aws.credentialsSecretRef: Secret default/aws in ${file} has no key "AWS_SECRET_ACCESS_KEY"`,
    ]);
    expect(r.code).toBe(1);
  });

  it("exits 1 when the files hold no ImageBuild", async () => {
    const r = await validate(write("none.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"));
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/no ImageBuild found/);
  });

  it("reads every YAML file of a directory, in name order", async () => {
    const sub = mkdtempSync(join(dir, "dir-"));
    writeFileSync(join(sub, "b.yaml"), imageBuild("b", "  base: {image: debian}"));
    writeFileSync(join(sub, "a.yml"), imageBuild("a", "  base: {image: debian}"));
    writeFileSync(join(sub, "notes.txt"), "not a manifest");
    expect(await validate(sub)).toEqual({ code: 0, out: ["ok default/a", "ok default/b"], err: [] });
  });
});
