// The first step of a build with the tree cache on: keys every cacheable step, restores the tree
// of the longest prefix the cache holds, and leaves the decision in the workspace's state for the
// steps after it (see save.ts). The cache is on when the cache directory exists (locally it is
// created; in the Pod it is the mounted cacheClaimName, absent otherwise).
import { mkdir, rm, stat } from "node:fs/promises";
import type { RunnerStep } from "../runner.js";
import { workspacePaths, type StageContext } from "../stage.js";
import { cacheableSteps, keyBase } from "./inputs.js";
import { entryName, longestCachedPrefix, stepKeys } from "./keys.js";
import { writeCacheState } from "./state.js";
import { TreeStore, treesDir } from "./store.js";

/** Entries older than this are not restored: the packages in them fall behind the mirror. */
export const TREE_CACHE_MAX_AGE_MS = 24 * 3600 * 1000;

/** What the base tree is, for the keys; undefined when it cannot be pinned (an image by tag). */
export type BaseIdentity = (ctx: StageContext) => Promise<unknown>;

async function isDirectory(dir: string): Promise<boolean> {
  return (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;
}

export function cacheLookupStep(baseIdentity: BaseIdentity): RunnerStep {
  return {
    name: "cache lookup",
    stage: "base",
    async run(ctx) {
      const { workspace, cacheDir } = ctx;
      const base = cacheDir && (await isDirectory(cacheDir)) ? await baseIdentity(ctx) : undefined;
      if (!cacheDir || base === undefined) return writeCacheState(workspace, undefined);
      const steps = stepKeys(await keyBase(base), await cacheableSteps(ctx, ctx.plan));
      const store = new TreeStore(treesDir(cacheDir));
      const now = Date.now();
      const fresh = new Set<string>();
      for (const { key } of steps) {
        const entry = await store.entry(entryName(key));
        if (entry && now - entry.createdMs < TREE_CACHE_MAX_AGE_MS) fresh.add(key);
      }
      let restored = longestCachedPrefix(steps, (key) => fresh.has(key));
      const { rootfs } = workspacePaths(workspace);
      if (restored >= 0) {
        const { step, key } = steps[restored]!;
        await rm(rootfs, { recursive: true, force: true });
        await mkdir(rootfs, { recursive: true, mode: 0o755 });
        try {
          await store.restore(entryName(key), rootfs, ctx.signal);
          ctx.log.info(
            { stage: "base", step: "cache lookup", key, through: step },
            `cache: restored the tree after ${step}`,
          );
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          // An unreadable entry is dropped and the build goes on cold, as without a cache.
          ctx.log.warn({ key, error: (error as Error).message }, "cache: entry unreadable, removed");
          await store.remove(entryName(key));
          await rm(rootfs, { recursive: true, force: true });
          await mkdir(rootfs, { recursive: true, mode: 0o755 });
          restored = -1;
        }
      }
      await writeCacheState(workspace, { steps, restored });
    },
  };
}
