// What the cache lookup decided, left in the workspace for the steps after it (in the Pod they run
// in later containers): every cacheable step with its key, and how many of them the restored tree
// already holds. No file: the cache is off for this build.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { workspacePaths } from "../stage.js";
import type { KeyedStep } from "./keys.js";

export const TREE_CACHE_STATE_FILE = "tree-cache.json";

export interface TreeCacheState {
  steps: KeyedStep[];
  /** Index of the last step whose result was restored from the cache; -1 when none was. */
  restored: number;
}

const stateFile = (workspace: string) => path.join(workspacePaths(workspace).state, TREE_CACHE_STATE_FILE);

export async function writeCacheState(workspace: string, state: TreeCacheState | undefined): Promise<void> {
  const file = stateFile(workspace);
  if (!state) return rm(file, { force: true });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(state)}\n`);
}

export async function readCacheState(workspace: string): Promise<TreeCacheState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(workspace), "utf8")) as TreeCacheState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
