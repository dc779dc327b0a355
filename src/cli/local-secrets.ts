// Locally there is no build Secret: its keys are written from the Secret documents of the -f
// files into a private temporary directory that stands in for the Pod's secrets directory.
import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { BuildPlan } from "../plan/plan.js";
import { findSecret, type Manifests } from "./manifests.js";

const SECRETS_PREFIX = "bib-secrets-";

/**
 * Removes secrets directories of earlier runs that were killed before they could clean up (the
 * directory name carries the owner's pid; a pid that no longer exists cannot be using it).
 */
export async function removeStaleSecretDirs(tmp = os.tmpdir()): Promise<void> {
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const pid = Number(/^bib-secrets-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH")
        await rm(path.join(tmp, name), { recursive: true, force: true });
    }
  }
}

/**
 * Writes the keys the plan's Secret would hold into a private temporary directory, from the Secret
 * documents of the -f files. The caller removes it. Values are never printed.
 */
export async function materializeSecrets(
  plan: BuildPlan,
  manifests: Manifests,
): Promise<{ dir: string; dispose(): Promise<void> }> {
  await removeStaleSecretDirs();
  const dir = await mkdtemp(path.join(os.tmpdir(), `${SECRETS_PREFIX}${process.pid}-`));
  await chmod(dir, 0o700);
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    for (const s of plan.secrets) {
      const data = findSecret(manifests, plan.imageBuild.namespace, s.name)?.data;
      // Own keys only: a key named `constructor` is not found on Object.prototype.
      const value = data && Object.hasOwn(data, s.key) ? data[s.key] : undefined;
      if (value === undefined) {
        if (s.optional) continue;
        throw new Error(
          `Secret ${plan.imageBuild.namespace}/${s.name}: key ${s.key} not found in the -f files`,
        );
      }
      await writeFile(path.join(dir, s.file), value, { mode: 0o600 });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { dir, dispose };
}
