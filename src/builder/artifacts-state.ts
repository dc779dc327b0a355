// state/artifacts.json: what the package stage made, read by validate and publish (in the Pod,
// later containers of the same workspace). Its one writer and its one reader.
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { artifactSchema, type Artifact } from "../plan/artifact.js";
import { parseJsonDocument } from "../plan/json-document.js";
import { writeJsonAtomic } from "../util/fs.js";
import { workspacePaths } from "./stage.js";

export const ARTIFACTS_STATE_FILE = "artifacts.json";

export function artifactsStateFile(workspace: string): string {
  return path.join(workspacePaths(workspace).state, ARTIFACTS_STATE_FILE);
}

/** Whole or not at all: a later stage never reads half a list. */
export async function writeArtifactsState(workspace: string, artifacts: readonly Artifact[]): Promise<void> {
  await writeJsonAtomic(artifactsStateFile(workspace), artifacts);
}

export async function removeArtifactsState(workspace: string): Promise<void> {
  await rm(artifactsStateFile(workspace), { force: true });
}

/** The packaged artifacts; fails naming the file when package has not run or left something else. */
export async function readArtifactsState(workspace: string): Promise<Artifact[]> {
  const file = artifactsStateFile(workspace);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new Error(`no packaged artifacts (${file}): ${(cause as Error).message}`, { cause });
  }
  return parseJsonDocument(text, z.array(artifactSchema), file);
}
