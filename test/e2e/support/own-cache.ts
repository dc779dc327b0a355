// A cache directory of one e2e test's own, for `bib build --cache` and `bib stage --cache`: no
// provisioned-tree entry left by another test or an earlier run on the machine can turn a step of
// this test into "cached" (CI may run twice on one machine). Only debootstrap trees are shared,
// through hard links to E2E_CACHE/debootstrap-trees, as the debianRootfs fixtures are: they depend
// on nothing but the suite, variant, includes and mirror (bib reuses one for a day at most), the
// debootstrap step still runs and reports "ok" with one, and making one takes minutes.
import { link, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { treesDir } from "../../../src/builder/cache/store.js";
import { E2E_CACHE } from "./debian-rootfs.js";

const SHARED = path.join(E2E_CACHE, "debootstrap-trees");
const isDebootstrapTree = (name: string) => /^debootstrap-[^.]+\.(json|tar)$/.test(name);

const mtime = async (file: string) => (await stat(file).catch(() => undefined))?.mtimeMs ?? -1;

/**
 * Hard-links the debootstrap entries of `from` into `to` where `to` has none or an older one
 * (bib makes a new one once a tree is a day old); the label first, the archive last, each by rename.
 */
async function linkDebootstrapTrees(from: string, to: string): Promise<void> {
  const names = (await readdir(from).catch(() => [] as string[])).filter(isDebootstrapTree);
  // An entry exists once its .tar does, so the .json goes first.
  names.sort((a, b) => Number(a.endsWith(".tar")) - Number(b.endsWith(".tar")));
  for (const name of names) {
    const source = path.join(from, name);
    const target = path.join(to, name);
    if ((await mtime(target)) >= (await mtime(source))) continue;
    const partial = `${target}.${process.pid}.partial`;
    await rm(partial, { force: true });
    try {
      await link(source, partial);
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      // /var/tmp spanning two filesystems: then nothing is shared.
      if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    }
  }
}

export interface OwnCache {
  dir: string;
  /** Offers the debootstrap trees this test's builds made to later tests. */
  share(): Promise<void>;
}

export async function ownCache(dir: string): Promise<OwnCache> {
  const trees = treesDir(dir);
  await mkdir(trees, { recursive: true });
  await mkdir(SHARED, { recursive: true });
  await linkDebootstrapTrees(SHARED, trees);
  return { dir, share: () => linkDebootstrapTrees(trees, SHARED) };
}
