// Hooks of the tree cache into the steps: a step the restored tree already holds is skipped
// ("cached" in the timing table); any other cacheable step saves the tree when it succeeds. The
// tree is saved with the chroot closed (no mounts, no stand-ins, the image's own resolv.conf), so
// an entry holds exactly what packaging would see (an empty /dev: the build binds its nodes on a tmpfs).
import type { ChrootSession } from "../chroot/session.js";
import type { RunnerStep } from "../runner.js";
import { workspacePaths } from "../stage.js";
import { entryName } from "./keys.js";
import { readCacheState } from "./state.js";
import { TreeStore, treesDir } from "./store.js";

/** The cache's size bound when none is given: least recently used entries go beyond it. */
export const DEFAULT_TREE_CACHE_BYTES = 20 * 2 ** 30;

/** A base step: skipped when the restored tree already holds any later step (and so the base). */
export function skippedWhenRestored(step: RunnerStep): RunnerStep {
  return {
    ...step,
    async run(ctx) {
      const state = await readCacheState(ctx.workspace);
      if (state && state.restored >= 0) return "cached";
      return step.run(ctx);
    },
  };
}

/** A provision step whose resulting tree is cached under its key (see lookup.ts). */
export function cacheable(step: RunnerStep, session: () => ChrootSession): RunnerStep {
  return {
    ...step,
    async run(ctx) {
      const state = await readCacheState(ctx.workspace);
      const index = state?.steps.findIndex((s) => s.step === step.name) ?? -1;
      if (state && index >= 0 && index <= state.restored) return "cached";
      await step.run(ctx);
      if (!state || index < 0 || !ctx.cacheDir) return;
      const store = new TreeStore(treesDir(ctx.cacheDir));
      const chroot = session();
      await chroot.close();
      try {
        const label = { step: step.name, buildName: ctx.plan.buildName };
        await store.save(
          entryName(state.steps[index]!.key),
          workspacePaths(ctx.workspace).rootfs,
          label,
          ctx.signal,
        );
        const removed = await store.prune(ctx.treeCacheMaxBytes ?? DEFAULT_TREE_CACHE_BYTES);
        ctx.log.info(
          { step: step.name, key: state.steps[index]!.key, pruned: removed.map((e) => e.name) },
          `cache: saved the tree after ${step.name}`,
        );
      } finally {
        await chroot.open();
      }
    },
  };
}
