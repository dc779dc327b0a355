// Python for Ansible: what the provision stage reads off the image tree, and what it decides.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { inspectPython, noPythonMessage, pythonForAnsible } from "../../src/builder/provision/python.js";

let rootfs: string;
afterEach(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

describe("inspectPython", () => {
  it("sees Debian's python3 symlink and apt-get, whatever the build host has", async () => {
    rootfs = await mkdtemp(path.join(os.tmpdir(), "bib-python-"));
    await mkdir(path.join(rootfs, "usr/bin"), { recursive: true });
    // As python3-minimal ships it: relative, to a version this host need not have.
    await symlink("python3.99", path.join(rootfs, "usr/bin/python3"));
    await writeFile(path.join(rootfs, "usr/bin/apt-get"), "");
    expect(await inspectPython(rootfs)).toEqual({ hasPython: true, hasApt: true });
  });

  it("reports a tree without Python or apt-get", async () => {
    rootfs = await mkdtemp(path.join(os.tmpdir(), "bib-python-"));
    await mkdir(path.join(rootfs, "usr/bin"), { recursive: true });
    await writeFile(path.join(rootfs, "usr/bin/perl"), "");
    expect(await inspectPython(rootfs)).toEqual({ hasPython: false, hasApt: false });
  });
});

describe("pythonForAnsible", () => {
  const ansible = (name: string) => ({ type: "ansible" as const, name });
  const shell = (name: string) => ({ type: "shell" as const, name });
  const bare = { hasPython: false, hasApt: false };

  it("installs python3 with apt when an ansible provisioner meets an image without Python", () => {
    expect(pythonForAnsible([shell("a"), ansible("site")], { hasPython: false, hasApt: true })).toEqual({
      install: ["python3"],
    });
  });

  it("installs nothing when the image has Python or no provisioner is ansible", () => {
    expect(pythonForAnsible([ansible("site")], { hasPython: true, hasApt: true })).toEqual({ install: [] });
    expect(pythonForAnsible([shell("a")], bare)).toEqual({ install: [] });
    expect(pythonForAnsible([], bare)).toEqual({ install: [] });
  });

  it("without apt-get, fails naming the first ansible provisioner and what to add", () => {
    const result = pythonForAnsible([ansible("site"), ansible("late")], bare);
    expect(result).toEqual({
      error:
        'ansible provisioner "site" (spec.provisioners[0]): the image has no Python, which Ansible runs its modules with, and no apt-get for bib to install it; add Python to the base image, or a shell provisioner before "site" that installs it',
    });
  });

  it("without apt-get, leaves it to a shell provisioner that runs before the first ansible one", () => {
    expect(pythonForAnsible([shell("get-python"), ansible("site")], bare)).toEqual({ install: [] });
    expect(pythonForAnsible([ansible("site"), shell("too-late")], bare)).toHaveProperty("error");
  });

  it("says when an earlier provisioner removed the python3 bib installed", () => {
    expect(noPythonMessage(2, "late", { hasApt: true })).toBe(
      'ansible provisioner "late" (spec.provisioners[2]): the image has no Python, which Ansible runs its modules with (a provisioner before it removed python3); keep python3 installed until the last ansible provisioner',
    );
  });
});
