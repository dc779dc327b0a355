// What the provision stage reads off the image tree to decide which boot packages it must add.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bootPackages, inspectTree } from "../../src/builder/stages/provision.js";

let rootfs: string;
afterEach(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

describe("inspectTree", () => {
  it("sees an init that is an absolute symlink, whatever the build host has at its target", async () => {
    rootfs = await mkdtemp(path.join(os.tmpdir(), "bib-tree-"));
    await mkdir(path.join(rootfs, "sbin"));
    // As Debian's systemd-sysv ships it; the target is not on this host.
    await symlink("/nonexistent/lib/systemd/systemd", path.join(rootfs, "sbin/init"));
    await mkdir(path.join(rootfs, "boot"));
    await writeFile(path.join(rootfs, "boot/vmlinuz-6.1.0-28-amd64"), "");
    const tree = await inspectTree(rootfs);
    expect(tree).toEqual({ hasKernel: true, hasInit: true });
    expect(bootPackages(tree)).toEqual([]);
  });

  it("reports a tree without init or kernel", async () => {
    rootfs = await mkdtemp(path.join(os.tmpdir(), "bib-tree-"));
    expect(await inspectTree(rootfs)).toEqual({ hasKernel: false, hasInit: false });
  });
});
