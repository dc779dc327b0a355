// A debootstrapped Debian tree for e2e tests, built once per machine and argument set and reused by
// every e2e file and rerun: debootstrap takes minutes, the tests that use the tree take seconds.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { hostAptMirror } from "../../../src/builder/base/apt-sources.js";
import { run } from "../../../src/util/exec.js";

export const E2E_CACHE = "/var/tmp/bib-e2e";

export interface DebianRootfsOptions {
  suite: string;
  variant?: string;
  include?: string[];
}

function cacheKey(options: DebianRootfsOptions): string {
  const canonical = JSON.stringify({
    suite: options.suite,
    variant: options.variant ?? "minbase",
    include: [...(options.include ?? [])].sort(),
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/**
 * Path of a Debian tree made by debootstrap with these options. The tree is built under a temporary
 * name and renamed when complete, so an interrupted run never leaves a half tree that looks cached.
 * Callers must not modify it: copy it first (`cp -a`) when a test changes the tree.
 */
export async function debianRootfs(options: DebianRootfsOptions): Promise<string> {
  const dir = path.join(E2E_CACHE, `debian-${options.suite}-${cacheKey(options)}`);
  if (existsSync(dir)) return dir;
  const debs = path.join(E2E_CACHE, "debs");
  await mkdir(debs, { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  const args = [`--variant=${options.variant ?? "minbase"}`, `--cache-dir=${debs}`];
  if (options.include?.length) args.push(`--include=${options.include.join(",")}`);
  args.push(options.suite, partial);
  // The machine's own mirror, as the builder finds it, so that no mirror is written in the repo.
  const mirror = await hostAptMirror();
  if (mirror) args.push(mirror);
  try {
    await run("debootstrap", args, { captureStdout: false });
    await rename(partial, dir);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  return dir;
}
