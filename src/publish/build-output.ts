// What `bib build --output DIR` leaves behind (DIR/build.json, see DEVELOPERS.md "Local output"):
// written by the local build and by `bib publish --from DIR`, read by publish and `bib cleanup`.
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { FORMATS, buildResultSchema } from "../api/schema.js";
import type { Artifact } from "../builder/artifact.js";

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
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${file}: not JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = buildOutputSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Writes DIR/build.json whole or not at all: a reader never sees half a file. */
export async function writeBuildOutput(dir: string, output: BuildOutput): Promise<void> {
  const file = path.join(dir, BUILD_OUTPUT_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(output, null, 2)}\n`);
  await rename(temp, file);
}
