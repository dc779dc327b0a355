// What `bib build --output DIR` leaves behind (DIR/build.json, see DEVELOPERS.md "Local output"):
// written by the local build and by `bib publish --from DIR`, read by publish and `bib cleanup`.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { FORMATS, buildResultSchema } from "../api/schema.js";
import type { Artifact } from "../plan/artifact.js";
import { parseJsonDocument } from "../plan/json-document.js";
import { writeJsonAtomic } from "../util/fs.js";

export const BUILD_OUTPUT_FILE = "build.json";

const buildOutputSchema = z.object({
  buildId: z.string().min(1),
  buildName: z.string().min(1),
  timestamp: z.number().int().nonnegative(),
  artifacts: z.array(
    z.object({
      format: z.enum(FORMATS),
      file: z.string().min(1),
      size: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
  result: buildResultSchema.default({ artifacts: [], images: [] }),
});
export type BuildOutput = z.infer<typeof buildOutputSchema>;

/** Artifact `file`s are relative to DIR and must stay inside it. */
export function artifactsOf(dir: string, output: BuildOutput): Artifact[] {
  const root = path.resolve(dir);
  return output.artifacts.map((a) => {
    const file = path.resolve(root, a.file);
    if (!file.startsWith(root + path.sep))
      throw new Error(`${BUILD_OUTPUT_FILE}: artifact file "${a.file}" is outside ${dir}`);
    return { format: a.format, path: file, size: a.size, sha256: a.sha256 };
  });
}

export async function readBuildOutput(dir: string): Promise<BuildOutput> {
  const file = path.join(dir, BUILD_OUTPUT_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new Error(
      `${file}: cannot read (run \`bib build --output ${dir}\` first): ${(cause as Error).message}`,
      { cause },
    );
  }
  return parseJsonDocument(text, buildOutputSchema, file);
}

/** Writes DIR/build.json whole or not at all: a reader never sees half a file. */
export async function writeBuildOutput(dir: string, output: BuildOutput): Promise<void> {
  await writeJsonAtomic(path.join(dir, BUILD_OUTPUT_FILE), output);
}
