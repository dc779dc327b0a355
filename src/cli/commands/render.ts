// `bib render -f imagebuild.yaml`: the children (and status) the operator would answer the first
// sync with, computed by the same hook function the service runs. Secrets are resolved from Secret
// documents in the same files; their values are shown only with --show-secrets.
import type { Command } from "commander";
import { stringify } from "yaml";
import { createHooks } from "../../hooks/index.js";
import { syncRequestSchema, type KubeObject } from "../../hooks/types.js";
import { loadHookOptions } from "../../server/config.js";
import { loadManifests, ManifestError, type Manifests } from "../manifests.js";

interface RenderOptions {
  file: string[];
  builderImage: string;
  output: "yaml" | "json";
  status: boolean;
  showSecrets: boolean;
}

function relatedSecrets(manifests: Manifests, namespace: string): Record<string, KubeObject> {
  const related: Record<string, KubeObject> = {};
  for (const s of manifests.secrets.filter((x) => x.namespace === namespace)) {
    const data = Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, v.toString("base64")]));
    related[s.name] = { apiVersion: "v1", kind: "Secret", metadata: { name: s.name, namespace }, data };
  }
  return related;
}

function redact(child: KubeObject): KubeObject {
  if (child.kind !== "Secret") return child;
  const data = (child.data ?? {}) as Record<string, string>;
  return { ...child, data: Object.fromEntries(Object.keys(data).map((k) => [k, "<redacted>"])) };
}

/**
 * Multi-document YAML. Objects the renderer shares (a Job's labels and its Pod template's) are
 * written out each time: YAML anchors and aliases would be valid, but read badly and trip some tools.
 */
export function documentsYaml(documents: readonly unknown[]): string {
  return documents.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

export function renderDocuments(
  manifests: Manifests,
  options: Omit<RenderOptions, "file" | "output">,
): object[] {
  const hooks = createHooks({ builderImage: options.builderImage });
  const documents: object[] = [];
  for (const ib of manifests.imageBuilds) {
    const parent = { ...ib.object, metadata: { ...ib.metadata, namespace: ib.namespace } };
    const request = syncRequestSchema.parse({
      parent,
      children: {},
      related: { "Secret.v1": relatedSecrets(manifests, ib.namespace) },
    });
    const response = hooks.sync(request, new Date());
    documents.push(...response.children.map((c) => (options.showSecrets ? c : redact(c))));
    if (options.status)
      documents.push({ kind: "ImageBuildStatus", name: ib.metadata.name, status: response.status });
  }
  return documents;
}

export function registerRender(program: Command): void {
  program
    .command("render")
    .description("print the children the operator would create for ImageBuilds (no cluster needed)")
    .requiredOption("-f, --file <path...>", "ImageBuild manifests (files, directories or -)")
    .option(
      "--builder-image <image>",
      "builder image for the Jobs (default: BIB_BUILDER_IMAGE, as the service reads it, else the release's own)",
    )
    .option("-o, --output <format>", "yaml or json", "yaml")
    .option("--status", "also print the status the ImageBuild would get", false)
    .option("--show-secrets", "print Secret values instead of <redacted>", false)
    .action(async (flags: Omit<RenderOptions, "builderImage"> & { builderImage?: string }) => {
      const options = {
        ...flags,
        builderImage: flags.builderImage ?? loadHookOptions(process.env).builderImage,
      };
      let manifests: Manifests;
      try {
        manifests = await loadManifests(options.file);
      } catch (error) {
        if (error instanceof ManifestError) {
          console.error(`error: ${error.message}`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
      if (manifests.imageBuilds.length === 0) {
        console.error(`error: no ImageBuild in ${options.file.join(", ")}`);
        process.exitCode = 2;
        return;
      }
      const documents = renderDocuments(manifests, options);
      if (options.output === "json") {
        process.stdout.write(
          `${JSON.stringify({ apiVersion: "v1", kind: "List", items: documents }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(documentsYaml(documents));
      }
    });
}
