import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { PLAN_FILE } from "../../src/api/constants.js";
import { localLayout, localPlan, missingReferences, prepareLayout } from "../../src/builder/local.js";
import { buildInputs, parseManifests as parseDocuments } from "../../src/cli/manifests.js";
import { readPlanDir } from "../../src/builder/plan-dir.js";

/** What `bib build -f in.yaml` hands the builder. */
const parseManifests = (text: string) => buildInputs(parseDocuments(text, "in.yaml"), "in.yaml");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bib-local-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const docs = [
  {
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name: "web" },
    spec: {
      base: { debootstrap: { suite: "bookworm" } },
      files: [{ path: "/etc/motd", content: "hello\n" }],
      provisioners: [
        {
          name: "site",
          ansible: {
            configMapRef: { name: "books", key: "site.yml" },
            extraVarsSecretRef: { name: "vault", key: "vars.json" },
          },
        },
      ],
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
    },
  },
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "books" },
    data: { "site.yml": "- hosts: all\n" },
  },
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "vault" },
    data: { "vars.json": Buffer.from('{"pw":"s3cret"}').toString("base64") },
  },
];
const yaml = docs.map((d) => stringify(d)).join("---\n");

describe("bib build's local layout", () => {
  it("resolves ConfigMap and Secret references from the same file", () => {
    const manifests = parseManifests(yaml);
    const resolved = localPlan(manifests);
    if (!resolved.ok) throw new Error("invalid");
    expect(missingReferences(resolved.plan, manifests)).toEqual([]);
    const withoutSecret = parseManifests(stringify(docs[0]) + "---\n" + stringify(docs[1]));
    expect(missingReferences(resolved.plan, withoutSecret)).toEqual([
      'Secret "vault" with key "vars.json" is referenced but not in the input',
    ]);
  });

  it.each(["constructor", "toString", "__proto__"])(
    "does not take Object's own %s for a ConfigMap or Secret key",
    (key) => {
      const [ib, books, vault] = docs as [(typeof docs)[0], Record<string, unknown>, Record<string, unknown>];
      const ansible = { configMapRef: { name: "books", key }, extraVarsSecretRef: { name: "vault", key } };
      const spec = { ...ib.spec, provisioners: [{ name: "site", ansible }] };
      const manifests = parseManifests(
        [{ ...ib, spec }, books, vault].map((d) => stringify(d)).join("---\n"),
      );
      const resolved = localPlan(manifests);
      if (!resolved.ok) throw new Error("invalid");
      expect(missingReferences(resolved.plan, manifests)).toEqual([
        `spec.provisioners[0].ansible.configMapRef: no ConfigMap "books" with key "${key}" in the input`,
        `Secret "vault" with key "${key}" is referenced but not in the input`,
      ]);
    },
  );

  it("reports spec errors by field", () => {
    const bad = parseManifests(stringify({ ...docs[0], spec: { base: {} } }));
    const resolved = localPlan(bad);
    expect(resolved.ok).toBe(false);
    if (!resolved.ok) expect(resolved.errors[0]!.path).toMatch(/^spec\.base/);
  });

  it("lays out the plan, 0600 secret files and ConfigMap keys like the build Pod", async () => {
    const manifests = parseManifests(yaml);
    const resolved = localPlan(manifests);
    if (!resolved.ok) throw new Error("invalid");
    const layout = localLayout(path.join(dir, "ws"));
    await prepareLayout(layout, resolved.plan, manifests);
    const plan = await readPlanDir(layout.planDir);
    expect(plan.buildName).toBe(resolved.plan.buildName);
    expect(JSON.parse(await readFile(path.join(layout.planDir, PLAN_FILE), "utf8"))).not.toHaveProperty(
      "assets",
    );
    expect(await readFile(path.join(layout.planDir, plan.files[0]!.asset), "utf8")).toBe("hello\n");
    expect(await readFile(path.join(layout.configMapsDir, "books", "site.yml"), "utf8")).toBe(
      "- hosts: all\n",
    );
    const secretFile = path.join(layout.secretsDir, resolved.plan.secrets[0]!.file);
    expect(await readFile(secretFile, "utf8")).toBe('{"pw":"s3cret"}');
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    expect((await stat(layout.secretsDir)).mode & 0o777).toBe(0o700);
  });

  it("refuses input without exactly one ImageBuild", () => {
    expect(() => parseManifests(stringify(docs[1]))).toThrow(/no ImageBuild/);
    expect(() => parseManifests(`${stringify(docs[0])}---\n${stringify(docs[0])}`)).toThrow(
      /more than one ImageBuild/,
    );
  });
});
