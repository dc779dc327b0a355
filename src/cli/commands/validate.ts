// `bib validate -f FILE [-f FILE...]`: checks ImageBuilds with the same schema the hooks use, before
// they reach a cluster. Exit 0: all valid; 1: some document is invalid; 2: unreadable or not YAML.
import type { Command } from "commander";
import type { ImageBuildSpec } from "../../api/schema.js";
import { validateSpec, type FieldError } from "../../api/validate.js";
import {
  findConfigMap,
  findSecret,
  loadManifests,
  ManifestError,
  type ImageBuildManifest,
  type Manifests,
} from "../manifests.js";

export const EXIT_INVALID = 1;
export const EXIT_UNREADABLE = 2;

// metadata.name: the API server requires a DNS-1123 subdomain for custom resources.
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function metadataErrors(ib: ImageBuildManifest): FieldError[] {
  const name = ib.metadata.name;
  if (typeof name !== "string" || !name)
    return [{ path: "metadata.name", message: "required field is missing" }];
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [
      { path: "metadata.name", message: "must be a lower-case DNS-1123 subdomain of at most 253 characters" },
    ];
  }
  return [];
}

// The keys the publishers read from a credentials Secret (DEVELOPERS.md, "Secrets").
const AWS_KEYS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
const DOCKER_CONFIG_KEYS = [".dockerconfigjson"];

/**
 * References to ConfigMaps and Secrets that are in the same files but lack the keys the build reads.
 * A reference to an object not in the files is fine: it may exist in the cluster.
 */
export function referenceErrors(spec: ImageBuildSpec, namespace: string, m: Manifests): FieldError[] {
  const errors: FieldError[] = [];
  const keysOf = (kind: "ConfigMap" | "Secret", name: string) => {
    if (kind === "Secret") {
      const secret = findSecret(m, namespace, name);
      return secret && { file: secret.source.file, keys: Object.keys(secret.data) };
    }
    const cm = findConfigMap(m, namespace, name);
    return cm && { file: cm.source.file, keys: [...Object.keys(cm.data), ...Object.keys(cm.binaryData)] };
  };
  const check = (path: string, kind: "ConfigMap" | "Secret", name: string, needed: string[]) => {
    const found = keysOf(kind, name);
    if (!found) return;
    for (const key of needed.filter((k) => !found.keys.includes(k))) {
      errors.push({ path, message: `${kind} ${namespace}/${name} in ${found.file} has no key "${key}"` });
    }
  };
  spec.provisioners.forEach(({ ansible }, i) => {
    const at = `spec.provisioners[${i}].ansible`;
    if (ansible?.configMapRef)
      check(`${at}.configMapRef.key`, "ConfigMap", ansible.configMapRef.name, [ansible.configMapRef.key]);
    if (ansible?.extraVarsSecretRef)
      check(`${at}.extraVarsSecretRef.key`, "Secret", ansible.extraVarsSecretRef.name, [
        ansible.extraVarsSecretRef.key,
      ]);
  });
  const { s3, oci, aws } = spec.publish;
  if (s3?.credentialsSecretRef)
    check("spec.publish.s3.credentialsSecretRef", "Secret", s3.credentialsSecretRef.name, AWS_KEYS);
  if (aws?.credentialsSecretRef)
    check("spec.publish.aws.credentialsSecretRef", "Secret", aws.credentialsSecretRef.name, AWS_KEYS);
  if (oci?.credentialsSecretRef)
    check(
      "spec.publish.oci.credentialsSecretRef",
      "Secret",
      oci.credentialsSecretRef.name,
      DOCKER_CONFIG_KEYS,
    );
  return errors;
}

export interface ValidationReport {
  /** `ok <namespace>/<name>` per valid ImageBuild. */
  ok: string[];
  /** `FILE: <name>: <field path>: <message>` per error. */
  errors: string[];
}

/** What `bib validate` prints for loaded manifests (pure). */
export function validationReport(manifests: Manifests): ValidationReport {
  const report: ValidationReport = { ok: [], errors: [] };
  const problemsByDocument = new Map<string, string[]>();
  for (const p of manifests.problems) {
    const key = `${p.source.file}#${p.source.index}`;
    const line = `${p.source.file}: ${p.name}: ${p.path}: ${p.message}`;
    problemsByDocument.set(key, [...(problemsByDocument.get(key) ?? []), line]);
  }
  const documentProblems = (ib: ImageBuildManifest) =>
    problemsByDocument.get(`${ib.source.file}#${ib.source.index}`) ?? [];
  const reported = new Set<string>();
  for (const ib of manifests.imageBuilds) {
    const name =
      typeof ib.metadata.name === "string" && ib.metadata.name
        ? ib.metadata.name
        : `<document ${ib.source.index + 1}>`;
    const result = validateSpec(ib.spec);
    const specErrors = result.ok ? referenceErrors(result.spec, ib.namespace, manifests) : result.errors;
    const errors = [...metadataErrors(ib), ...specErrors].map(
      (e) => `${ib.source.file}: ${name}: ${e.path}: ${e.message}`,
    );
    const problems = documentProblems(ib);
    reported.add(`${ib.source.file}#${ib.source.index}`);
    if (errors.length || problems.length) report.errors.push(...problems, ...errors);
    else report.ok.push(`ok ${ib.namespace}/${name}`);
  }
  // Problems of the ConfigMaps and Secrets the ImageBuilds may reference.
  for (const [key, lines] of problemsByDocument) if (!reported.has(key)) report.errors.push(...lines);
  return report;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Loads, validates and prints; returns the exit code. */
export async function validateFiles(paths: readonly string[], output: Output): Promise<number> {
  let manifests: Manifests;
  try {
    manifests = await loadManifests(paths);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    output.err(error.message);
    return EXIT_UNREADABLE;
  }
  const { ok, errors } = validationReport(manifests);
  if (!ok.length && !errors.length) {
    output.err(`${paths.join(", ")}: no ImageBuild found`);
    return EXIT_INVALID;
  }
  ok.forEach((line) => output.out(line));
  errors.forEach((line) => output.err(line));
  return errors.length ? EXIT_INVALID : 0;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check ImageBuild manifests against the API schema (multi-document YAML; - for stdin)")
    .requiredOption("-f, --filename <file>", "a manifest file or directory; repeatable", collect, [])
    .action(async (options: { filename: string[] }) => {
      process.exitCode = await validateFiles(options.filename, {
        out: (line) => console.log(line),
        err: (line) => console.error(line),
      });
    });
}
