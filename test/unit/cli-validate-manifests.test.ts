import { describe, expect, it } from "vitest";
import { findConfigMap, findSecret, ManifestError, parseManifests } from "../../src/cli/manifests.js";

const FILE = "in.yaml";

describe("parseManifests", () => {
  it("sorts ImageBuilds, ConfigMaps, Secrets and other kinds, with file, line and index", () => {
    const m = parseManifests(
      [
        "# comment only document",
        "---",
        "apiVersion: bib.dev/v1alpha1\nkind: ImageBuild\nmetadata: {name: ib, namespace: images}\nspec: {base: {image: debian}}",
        "---",
        "# a document with nothing in it is skipped",
        "---",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: images}\ndata: {site.yml: '- hosts: all'}",
        "---",
        "apiVersion: v1\nkind: Service\nmetadata: {name: svc}",
      ].join("\n"),
      FILE,
    );
    expect(m.imageBuilds).toHaveLength(1);
    expect(m.imageBuilds[0]).toMatchObject({
      source: { file: FILE, line: 3, index: 0 },
      namespace: "images",
      metadata: { name: "ib" },
      spec: { base: { image: "debian" } },
    });
    expect(m.configMaps).toEqual([
      {
        source: { file: FILE, line: 10, index: 2 },
        name: "cm",
        namespace: "images",
        data: { "site.yml": "- hosts: all" },
        binaryData: {},
      },
    ]);
    expect(m.others.map((o) => o.object.kind)).toEqual(["Service"]);
    expect(m.problems).toEqual([]);
  });

  it("decodes Secret data, lets stringData win, defaults type and namespace", () => {
    const m = parseManifests(
      "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: aGVsbG8=, b: b2xk}\nstringData: {b: new}\n",
      FILE,
    );
    const s = findSecret(m, "default", "s")!;
    expect(s.type).toBe("Opaque");
    expect(Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.toString()]))).toEqual({
      a: "hello",
      b: "new",
    });
  });

  it("finds references only in the ImageBuild's namespace", () => {
    const m = parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: a}\n", FILE);
    expect(findConfigMap(m, "a", "cm")?.name).toBe("cm");
    expect(findConfigMap(m, "default", "cm")).toBeUndefined();
  });

  it("expands kind: List", () => {
    const m = parseManifests(
      "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n",
      FILE,
    );
    expect(m.configMaps.map((c) => c.name)).toEqual(["x"]);
  });

  it("throws ManifestError with line and column for invalid YAML, and for a scalar document", () => {
    expect(() => parseManifests("a: 1\nb: [\n", FILE)).toThrow(ManifestError);
    expect(() => parseManifests("a: 1\nb: [\n", FILE)).toThrow(/^in\.yaml:\d+:\d+: /);
    expect(() => parseManifests("---\njust a string\n", FILE)).toThrow(
      /in\.yaml:2: document 1 is not a Kubernetes object/,
    );
  });
});
