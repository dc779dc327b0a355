// A tarball base for fast e2e builds: a minbase debootstrap tree (D's cached fixture) with Python
// (for Ansible), a kernel and an init (so disk formats need no package install), tarred once per
// machine and reused. Made under a temporary name and renamed, so a half file never counts.
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { sha256File } from "../../../src/builder/disk/sha256.js";
import { run } from "../../../src/util/exec.js";
import { debianRootfs, E2E_CACHE } from "./debian-rootfs.js";

export const TARBALL_TREE = {
  suite: "bookworm",
  variant: "minbase",
  include: ["python3", "systemd-sysv", "udev", "linux-image-cloud-amd64"],
};

export async function minbaseTarball(): Promise<{ file: string; sha256: string }> {
  const file = path.join(E2E_CACHE, "bib-bookworm-python-kernel.tar.gz");
  if (!existsSync(file)) {
    const tree = await debianRootfs(TARBALL_TREE);
    const partial = `${file}.partial`;
    await rm(partial, { force: true });
    await run("tar", [
      "--create",
      "--gzip",
      "--numeric-owner",
      "--xattrs",
      "--file",
      partial,
      "-C",
      tree,
      ".",
    ]);
    await rename(partial, file);
  }
  return { file, sha256: await sha256File(file) };
}
