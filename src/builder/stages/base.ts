// Stage `base`: the image's starting root filesystem, from debootstrap, a tarball or an OCI image.
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { POD_PATHS } from "../../api/constants.js";
import { hasDiskFormat } from "../../plan/formats.js";
import { TOOLS_DIR } from "../../plan/stage-table.js";
import type { BasePlan, BuildPlan } from "../../plan/plan.js";
import { run } from "../../util/exec.js";
import { mountMinimalDev } from "../chroot/session.js";
import { MountTable, unmountEverythingUnder } from "../chroot/mounts.js";
import { hostAptMirror } from "../base/apt-sources.js";
import { injectTools, normalizeImageRootfs } from "../base/copier.js";
import { pullAndUnpack } from "../base/oci.js";
import { TREE_CACHE_MAX_AGE_MS, type BaseIdentity } from "../cache/lookup.js";
import { skippedWhenRestored } from "../cache/save.js";
import { TreeStore, treesDir } from "../cache/store.js";
import { treeCacheKey } from "../base/tree-cache.js";
import { fetchAndExtract } from "../base/tarball.js";
import { lineLogger } from "../output-lines.js";
import type { RunnerStep } from "../runner.js";
import { workspacePaths, type StageContext } from "../stage.js";
import { aptCacheDir, bootPackages, scratchDir } from "./provision.js";

type Debootstrap = Extract<BasePlan, { type: "debootstrap" }>;

export function debootstrapArgs(
  base: Debootstrap,
  rootfs: string,
  mirror: string | undefined,
  cacheDir: string | undefined,
): string[] {
  return [
    ...(base.variant ? [`--variant=${base.variant}`] : []),
    ...(base.include.length > 0 ? [`--include=${base.include.join(",")}`] : []),
    ...(cacheDir ? [`--cache-dir=${cacheDir}`] : []),
    // debootstrap takes no "--"; a suite cannot start with "-" (the schema checks its shape).
    base.suite,
    rootfs,
    ...(mirror ? [mirror] : []),
  ];
}

/** An empty image root: a retried Job or a rerun starts from nothing. */
async function freshRoot(rootfs: string): Promise<void> {
  await rm(rootfs, { recursive: true, force: true });
  await mkdir(rootfs, { recursive: true, mode: 0o755 });
}

/**
 * A disk needs a kernel and an init: debootstrap installs them with the base (one dependency
 * resolution, no second apt run in provision). Other bases get them in provision's `packages`.
 */
export function withBootIncludes(base: Debootstrap, plan: Pick<BuildPlan, "formats">): Debootstrap {
  if (!hasDiskFormat(plan)) return base;
  const include = [...new Set([...base.include, ...bootPackages({ hasKernel: false, hasInit: false })])];
  return { ...base, include };
}

async function debootstrap(ctx: StageContext, spec: Debootstrap): Promise<void> {
  const base = withBootIncludes(spec, ctx.plan);
  const rootfs = workspacePaths(ctx.workspace).rootfs;
  await freshRoot(rootfs);
  const mirror = base.mirror ?? (await hostAptMirror());
  // debootstrap spends most of its time configuring packages, not downloading: a warm build reuses
  // a tree of the same suite, variant, includes and mirror, for up to a day (packages then runs
  // apt-get update before installing).
  const store = ctx.cacheDir ? new TreeStore(treesDir(ctx.cacheDir)) : undefined;
  const name = `debootstrap-${treeCacheKey({ ...base, ...(mirror ? { mirror } : {}) })}`;
  const cached = await store?.entry(name);
  if (store && cached && Date.now() - cached.createdMs < TREE_CACHE_MAX_AGE_MS) {
    ctx.log.info(
      { stage: "base", step: "debootstrap", cachedTree: cached.file },
      "base: reusing a cached debootstrap tree",
    );
    await store.restore(name, rootfs, ctx.signal);
    return;
  }
  const cache = aptCacheDir(ctx);
  if (cache) await mkdir(cache, { recursive: true });
  const out = lineLogger(ctx.log, { stage: "base", step: "debootstrap" });
  let fetched = 0;
  const dev = new MountTable();
  try {
    // debootstrap proves it can make working device nodes by making one in the target, which fails
    // on a workspace mounted `nodev` (podman's emptyDir) and without CAP_MKNOD. `container=lxc` is
    // how it learns it runs in a container that cannot: it skips that probe and keeps the nodes it
    // finds in /dev (bound from the container's own /dev) instead of making its own.
    await mountMinimalDev(dev, rootfs);
    // Its `ln -sf /proc/self/fd dev/fd` would follow an existing dev/fd into the host's /proc.
    await rm(path.join(rootfs, "dev/fd"));
    await run("debootstrap", debootstrapArgs(base, rootfs, mirror, cache), {
      signal: ctx.signal,
      processGroup: true,
      captureStdout: false,
      env: { ...process.env, container: "lxc" },
      onOutput(chunk) {
        out.onOutput(chunk);
        fetched += chunk
          .split("\n")
          .filter((l) => /^I: (Retrieving|Validating|Extracting|Unpacking) /.test(l)).length;
        ctx.progress.update("debootstrap", fetched, 0, "blocks");
      },
    });
  } finally {
    // debootstrap itself unmounts dev/pts and dev/shm on exit; the kernel's table is the judge.
    await dev.unmountAll();
    await unmountEverythingUnder(rootfs);
  }
  out.flush();
  await store?.save(name, rootfs, { step: "debootstrap", buildName: ctx.plan.buildName }, ctx.signal);
}

async function tarball(ctx: StageContext, base: Extract<BasePlan, { type: "tarball" }>): Promise<void> {
  const rootfs = workspacePaths(ctx.workspace).rootfs;
  await freshRoot(rootfs);
  const scratch = scratchDir(ctx.workspace);
  await mkdir(scratch, { recursive: true });
  await fetchAndExtract(base.url, base.sha256, path.join(scratch, "base.tar"), rootfs, {
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress.update("download base", done, total, "bytes"),
  });
}

async function image(ctx: StageContext, base: Extract<BasePlan, { type: "image" }>): Promise<void> {
  const { rootfs } = workspacePaths(ctx.workspace);
  const scratch = scratchDir(ctx.workspace);
  await mkdir(scratch, { recursive: true });
  const registriesConf = process.env.CONTAINERS_REGISTRIES_CONF;
  await pullAndUnpack(base.image, path.join(scratch, "oci"), rootfs, {
    signal: ctx.signal,
    ...(registriesConf ? { registriesConf } : {}),
  });
}

/** Ends an image base in both executors: runtime mounts dropped, kernel fs mount points present. */
export const normalizeImageStep: RunnerStep = {
  name: "normalize image root",
  stage: "base",
  async run(ctx) {
    const { rootfs, state } = workspacePaths(ctx.workspace);
    const entries = await readdir(rootfs).catch(() => [] as string[]);
    if (entries.length === 0) throw new Error(`the base image was not copied into ${rootfs}`);
    await normalizeImageRootfs(rootfs, state);
  },
};

/**
 * The base step run by the builder itself (locally: all three kinds; in the Pod: not `image`,
 * which the kubelet pulls). An image's tree is normalized at the start of provision.
 */
export function baseSteps(plan: Pick<BuildPlan, "base">): RunnerStep[] {
  const base = plan.base;
  switch (base.type) {
    case "debootstrap":
      return [
        skippedWhenRestored({ name: "debootstrap", stage: "base", run: (ctx) => debootstrap(ctx, base) }),
      ];
    case "tarball":
      return [skippedWhenRestored({ name: "tarball", stage: "base", run: (ctx) => tarball(ctx, base) })];
    case "image":
      return [skippedWhenRestored({ name: "pull image", stage: "base", run: (ctx) => image(ctx, base) })];
  }
}

/**
 * What the base tree is, for the tree cache's keys: debootstrap's inputs (boot includes and the
 * mirror resolved), a tarball's sha256, an image's digest. An image named by tag has none (the tag
 * can move), so its builds are not cached.
 */
export const baseCacheIdentity: BaseIdentity = async (ctx) => {
  const base = ctx.plan.base;
  switch (base.type) {
    case "debootstrap": {
      const full = withBootIncludes(base, ctx.plan);
      const mirror = full.mirror ?? (await hostAptMirror());
      return { debootstrap: treeCacheKey({ ...full, ...(mirror ? { mirror } : {}) }) };
    }
    case "tarball":
      return { tarball: base.sha256.toLowerCase() };
    case "image": {
      const digest = /@(sha256:[0-9a-f]{64})$/.exec(base.image)?.[1];
      return digest ? { image: digest } : undefined;
    }
  }
};

/** `bib stage inject-tools`: puts the static copier where the base image's container finds it. */
export const injectToolsStep: RunnerStep = {
  name: "inject tools",
  stage: "base",
  async run(ctx) {
    // The copier runs in the base image's container, which sees the workspace at the Pod's path.
    const pod = workspacePaths(POD_PATHS.workspace);
    const toolsDir = path.join(ctx.workspace, path.relative(POD_PATHS.workspace, TOOLS_DIR));
    await injectTools(toolsDir, TOOLS_DIR, pod.rootfs, pod.state);
  },
};
