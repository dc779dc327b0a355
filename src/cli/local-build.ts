// The output directory of `bib build --output DIR` read back together with the ImageBuild it was
// built from: what `bib publish --from DIR` and `bib cleanup --from DIR` start with.
import path from "node:path";
import { describeErrors } from "../api/validate.js";
import { resolvePlan, type BuildPlan, type ParentObject } from "../plan/plan.js";
import { BUILD_OUTPUT_FILE, readBuildOutput, type BuildOutput } from "../publish/build-output.js";
import { loadManifests, type Manifests } from "./manifests.js";

export interface LocalBuild {
  plan: BuildPlan;
  manifests: Manifests;
  output: BuildOutput;
}

/** The plan of the one ImageBuild in the -f files (or the one named), checked against DIR's build. */
export async function loadLocalBuild(files: string[], dir: string, name?: string): Promise<LocalBuild> {
  const manifests = await loadManifests(files);
  const candidates = manifests.imageBuilds.filter((ib) => !name || ib.metadata.name === name);
  if (candidates.length !== 1) {
    const names = manifests.imageBuilds.map((ib) => ib.metadata.name).join(", ") || "none";
    throw new Error(
      `-f: expected exactly one ImageBuild${name ? ` named ${name}` : " (use --name)"}; found: ${names}`,
    );
  }
  const ib = candidates[0]!;
  const resolved = resolvePlan({
    metadata: { ...ib.metadata, namespace: ib.namespace },
    spec: ib.spec,
  } as ParentObject);
  if (!resolved.ok) throw new Error(`${ib.source.file}: ${describeErrors(resolved.errors)}`);
  const output = await readBuildOutput(dir);
  if (output.buildId !== resolved.buildId) {
    throw new Error(
      `${path.join(dir, BUILD_OUTPUT_FILE)}: built from another spec (build ${output.buildId}, ${ib.source.file} gives ${resolved.buildId}); build again or pass the ImageBuild it was built from`,
    );
  }
  return { plan: resolved.plan, manifests, output };
}
