// Just enough of kustomize to check our manifests offline (CI has no kubectl): resources (files and
// directories), namespace, images, strategic-merge patches (lists of named items merge by name) and
// JSON 6902 `replace`/`add` patches. Anything else in a kustomization is an error, so this stays
// honest about what it checked.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

const KNOWN_FIELDS = new Set(["apiVersion", "kind", "namespace", "resources", "images", "patches", "labels"]);
const CLUSTER_SCOPED = new Set(["Namespace", "CustomResourceDefinition", "CompositeController"]);

export function loadYamlFile(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(path, "utf8")).flatMap((d) => {
    if (d.errors.length) throw new Error(`${path}: ${d.errors[0]!.message}`);
    const v = d.toJS() as Manifest | null;
    return v ? [v] : [];
  });
}

export function build(dir: string, seen: string[] = []): Manifest[] {
  const root = resolve(dir);
  const file = join(root, "kustomization.yaml");
  if (!existsSync(file)) throw new Error(`${root}: no kustomization.yaml`);
  if (seen.some((s) => s.startsWith(root + "/") || s === root))
    throw new Error(`cycle: ${root} contains ${seen.join(", ")}`);
  const k = loadYamlFile(file)[0] as Record<string, unknown>;
  for (const key of Object.keys(k))
    if (!KNOWN_FIELDS.has(key)) throw new Error(`${file}: unsupported field ${key}`);
  let out: Manifest[] = [];
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const path = resolve(root, r);
    if (!existsSync(path)) throw new Error(`${file}: resource ${r} does not exist`);
    if (statSync(path).isDirectory()) out.push(...build(path, [...seen, root]));
    else {
      // kustomize's load restrictor: files must be under the kustomization's root.
      if (!path.startsWith(root + "/")) throw new Error(`${file}: ${r} is outside the kustomization root`);
      out.push(...loadYamlFile(path));
    }
  }
  if (typeof k.namespace === "string") {
    out = out.map((m) =>
      CLUSTER_SCOPED.has(m.kind)
        ? m
        : { ...m, metadata: { ...m.metadata, namespace: k.namespace as string } },
    );
  }
  for (const l of (k.labels as Array<{ pairs: Record<string, string> }> | undefined) ?? []) {
    out = out.map((m) => ({
      ...m,
      metadata: { ...m.metadata, labels: { ...m.metadata.labels, ...l.pairs } },
    }));
  }
  for (const p of (k.patches as Array<Record<string, unknown>> | undefined) ?? [])
    out = applyPatch(root, file, p, out);
  for (const img of (k.images as Array<{ name: string; newName?: string; newTag?: string }> | undefined) ??
    []) {
    out = out.map(
      (m) =>
        JSON.parse(JSON.stringify(m), (key, v) =>
          key === "image" && typeof v === "string" ? retag(v, img) : v,
        ) as Manifest,
    );
  }
  return out;
}

function retag(image: string, rule: { name: string; newName?: string; newTag?: string }): string {
  const [name, tag] = image.split(/:(?=[^/]+$)/);
  if (name !== rule.name) return image;
  return `${rule.newName ?? name}${rule.newTag ? `:${rule.newTag}` : tag ? `:${tag}` : ""}`;
}

function applyPatch(root: string, file: string, p: Record<string, unknown>, list: Manifest[]): Manifest[] {
  if (typeof p.path === "string") {
    const path = resolve(root, p.path);
    if (!existsSync(path)) throw new Error(`${file}: patch ${p.path} does not exist`);
    const [patch] = loadYamlFile(path);
    const i = list.findIndex((m) => m.kind === patch!.kind && m.metadata.name === patch!.metadata.name);
    if (i < 0) throw new Error(`${file}: patch ${p.path} matches no ${patch!.kind}/${patch!.metadata.name}`);
    return list.map((m, j) => (j === i ? (merge(m, patch) as Manifest) : m));
  }
  const target = p.target as { kind: string; name: string };
  const ops = parseAllDocuments(String(p.patch))[0]!.toJS() as Array<{
    op: string;
    path: string;
    value: unknown;
  }>;
  const i = list.findIndex((m) => m.kind === target.kind && m.metadata.name === target.name);
  if (i < 0) throw new Error(`${file}: patch target ${target.kind}/${target.name} not found`);
  const copy = structuredClone(list[i]!) as Record<string, unknown>;
  for (const op of ops) {
    if (op.op !== "replace" && op.op !== "add") throw new Error(`${file}: unsupported op ${op.op}`);
    const keys = op.path.split("/").slice(1);
    let node = copy as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    const last = keys.at(-1)!;
    if (op.op === "replace" && !(last in node)) throw new Error(`${file}: replace of missing ${op.path}`);
    node[last] = op.value;
  }
  return list.map((m, j) => (j === i ? (copy as Manifest) : m));
}

/** Strategic merge, the parts we use: maps merge, lists of `{name}` items merge by name. */
export function merge(base: unknown, patch: unknown): unknown {
  if (
    Array.isArray(base) &&
    Array.isArray(patch) &&
    patch.every((x) => x && typeof x === "object" && "name" in x)
  ) {
    const out = base.map((b) => {
      const p = patch.find((x) => (x as { name: string }).name === (b as { name?: string }).name);
      return p ? merge(b, p) : b;
    });
    for (const p of patch)
      if (!base.some((b) => (b as { name?: string }).name === (p as { name: string }).name)) out.push(p);
    return out;
  }
  if (isObject(base) && isObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return patch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), "../..");
