// Loads the Kubernetes manifests given with `-f` (files, directories or `-` for stdin; multi-document
// YAML or JSON) the way kubectl reads them, and sorts out what the local commands need: the
// ImageBuilds, and the ConfigMaps and Secrets their `configMapRef` / `*SecretRef`s point at, so that
// `bib build -f` resolves references from the same files as the cluster would from its objects.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";
import { API_VERSION, KIND } from "../api/constants.js";
import type { ManifestSet } from "../builder/local.js";

/** Where a document came from, for messages: `examples/x.yaml:12`. */
export interface Source {
  file: string;
  /** 1-based line of the document's first line. */
  line: number;
  /** 0-based position of the document in its file. */
  index: number;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** An ImageBuild as written; `spec` is not validated here (see `validateSpec`). */
export interface ImageBuildManifest {
  source: Source;
  apiVersion: string;
  kind: typeof KIND;
  metadata: ObjectMeta;
  /** `metadata.namespace`, or `default` as kubectl assumes without a context namespace. */
  namespace: string;
  spec: unknown;
  /** The whole document, e.g. for the hooks' parent object. */
  object: Record<string, unknown>;
}

export interface ConfigMapManifest {
  source: Source;
  name: string;
  namespace: string;
  data: Record<string, string>;
  binaryData: Record<string, Buffer>;
}

export interface SecretManifest {
  source: Source;
  name: string;
  namespace: string;
  type: string;
  /** `data` (base64-decoded) merged with `stringData`, which wins as on the API server. */
  data: Record<string, Buffer>;
}

/** A document that is not what its kind promises; reported per document, loading carries on. */
export interface ManifestProblem {
  source: Source;
  /** `metadata.name`, or `<document N>` when it has none. */
  name: string;
  path: string;
  message: string;
}

export interface Manifests {
  imageBuilds: ImageBuildManifest[];
  configMaps: ConfigMapManifest[];
  secrets: SecretManifest[];
  /** Documents of other kinds, untouched. */
  others: Array<{ source: Source; object: Record<string, unknown> }>;
  problems: ManifestProblem[];
}

/** Unreadable input or invalid YAML: nothing from the input can be trusted. */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly file: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ManifestError";
  }
}

export const DEFAULT_NAMESPACE = "default";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const emptyManifests = (): Manifests => ({
  imageBuilds: [],
  configMaps: [],
  secrets: [],
  others: [],
  problems: [],
});

function documentName(object: Record<string, unknown>, source: Source): string {
  const name = isObject(object.metadata) ? object.metadata.name : undefined;
  return typeof name === "string" && name ? name : `<document ${source.index + 1}>`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function stringMap(
  value: unknown,
  path: string,
  problem: (path: string, message: string) => void,
): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    problem(path, "must be a map of strings");
    return {};
  }
  const entries: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string") entries.push([k, v]);
    else problem(`${path}.${k}`, "must be a string (quote numbers and booleans)");
  }
  // Defined, not assigned: a `__proto__` key stays a key.
  return Object.fromEntries(entries);
}

function base64Map(
  value: unknown,
  path: string,
  problem: (path: string, message: string) => void,
): Record<string, Buffer> {
  const entries: Array<[string, Buffer]> = [];
  for (const [k, v] of Object.entries(stringMap(value, path, problem))) {
    const compact = v.replace(/\s+/g, "");
    if (compact.length % 4 === 0 && BASE64.test(compact)) entries.push([k, Buffer.from(compact, "base64")]);
    else problem(`${path}.${k}`, "must be base64 (use stringData for plain text)");
  }
  return Object.fromEntries(entries);
}

/** Sorts one parsed document into `into`. */
function addDocument(into: Manifests, object: Record<string, unknown>, source: Source): void {
  const name = documentName(object, source);
  const problem = (path: string, message: string) => into.problems.push({ source, name, path, message });
  const metadata = isObject(object.metadata) ? (object.metadata as ObjectMeta) : {};
  const namespace =
    typeof metadata.namespace === "string" && metadata.namespace ? metadata.namespace : DEFAULT_NAMESPACE;
  const kind = object.kind;
  const apiVersion = object.apiVersion;
  if (kind === KIND) {
    // Checked, not skipped: an ImageBuild with a wrong apiVersion would silently not be built.
    if (apiVersion !== API_VERSION) problem("apiVersion", `must be ${API_VERSION}`);
    if (!isObject(object.metadata)) problem("metadata", "required field is missing");
    into.imageBuilds.push({
      source,
      apiVersion: String(apiVersion),
      kind: KIND,
      metadata,
      namespace,
      spec: object.spec,
      object,
    });
    return;
  }
  if (apiVersion === "v1" && (kind === "ConfigMap" || kind === "Secret")) {
    if (typeof metadata.name !== "string" || !metadata.name)
      problem("metadata.name", "required field is missing");
    if (kind === "ConfigMap") {
      const data = stringMap(object.data, "data", problem);
      const binaryData = base64Map(object.binaryData, "binaryData", problem);
      into.configMaps.push({ source, name, namespace, data, binaryData });
    } else {
      // stringData wins over data, as the API server merges them.
      const data = Object.fromEntries([
        ...Object.entries(base64Map(object.data, "data", problem)),
        ...Object.entries(stringMap(object.stringData, "stringData", problem)).map(
          ([k, v]) => [k, Buffer.from(v, "utf8")] as const,
        ),
      ]);
      const type = typeof object.type === "string" ? object.type : "Opaque";
      into.secrets.push({ source, name, namespace, type, data });
    }
    return;
  }
  into.others.push({ source, object });
}

/** Parses one file's text (pure). Throws ManifestError with `file:line:col` for invalid YAML. */
export function parseManifests(text: string, file: string, into: Manifests = emptyManifests()): Manifests {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  if (!Array.isArray(documents)) return into; // an empty stream
  documents.forEach((doc, index) => {
    const line = lineCounter.linePos(doc.contents?.range[0] ?? doc.range[0]).line;
    const source = { file, line, index };
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0];
      const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
      throw new ManifestError(`${where}: ${error.message.split("\n")[0]}`, file);
    }
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) return; // `---` with nothing, or only comments
    if (!isObject(object)) {
      throw new ManifestError(`${file}:${line}: document ${index + 1} is not a Kubernetes object`, file);
    }
    if (object.kind === "List" && Array.isArray(object.items)) {
      for (const item of object.items) if (isObject(item)) addDocument(into, item, source);
    } else {
      addDocument(into, object, source);
    }
  });
  return into;
}

async function readText(path: string): Promise<string> {
  try {
    if (path === "-") {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    }
    return await readFile(path, "utf8");
  } catch (cause) {
    throw new ManifestError(`${path}: cannot read: ${(cause as Error).message}`, path, { cause });
  }
}

/** Files named on the command line, with directories expanded to their *.yaml, *.yml and *.json files. */
async function expand(path: string): Promise<string[]> {
  if (path === "-") return [path];
  const info = await stat(path).catch((cause: Error) => {
    throw new ManifestError(`${path}: cannot read: ${cause.message}`, path, { cause });
  });
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  return names.map((n) => join(path, n));
}

/** Reads and sorts every document of `paths`, in order. Throws ManifestError on unreadable or invalid input. */
export async function loadManifests(paths: readonly string[]): Promise<Manifests> {
  const into = emptyManifests();
  for (const path of paths) {
    for (const file of await expand(path)) {
      parseManifests(await readText(file), file === "-" ? "<stdin>" : file, into);
    }
  }
  return into;
}

/** The ConfigMap a `configMapRef` of an ImageBuild in `namespace` names, from the same inputs. */
export function findConfigMap(m: Manifests, namespace: string, name: string): ConfigMapManifest | undefined {
  return m.configMaps.find((c) => c.namespace === namespace && c.name === name);
}

/** The Secret a `*SecretRef` of an ImageBuild in `namespace` names, from the same inputs. */
export function findSecret(m: Manifests, namespace: string, name: string): SecretManifest | undefined {
  return m.secrets.find((s) => s.namespace === namespace && s.name === name);
}

/**
 * What `bib build` takes from the inputs: exactly one ImageBuild, and the ConfigMaps and Secrets of
 * its namespace. A document that is not what its kind promises stops the build before it starts.
 */
export function buildInputs(m: Manifests, source: string): ManifestSet {
  if (m.problems.length > 0) {
    throw new Error(m.problems.map((p) => `${p.source.file}: ${p.name}: ${p.path}: ${p.message}`).join("\n"));
  }
  if (m.imageBuilds.length === 0) throw new Error(`${source}: no ImageBuild document`);
  if (m.imageBuilds.length > 1) throw new Error(`${source}: more than one ImageBuild; pass one per build`);
  const ib = m.imageBuilds[0]!;
  const inNamespace = <T extends { namespace: string }>(objects: T[]) =>
    objects.filter((o) => o.namespace === ib.namespace);
  return {
    imageBuild: {
      metadata: { ...ib.metadata, name: ib.metadata.name!, namespace: ib.namespace },
      spec: ib.spec,
    },
    configMaps: new Map(inNamespace(m.configMaps).map((c) => [c.name, c.data])),
    secrets: new Map(inNamespace(m.secrets).map((s) => [s.name, s.data])),
  };
}
