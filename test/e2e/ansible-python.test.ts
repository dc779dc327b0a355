// An ansible provisioner on a base without Python, through the real CLI: a minbase debootstrap gets
// python3 from apt before provisioning (and keeps it); a base without apt-get fails before any
// provisioner runs, with one line naming the provisioner and what to add.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { sha256File } from "../../src/builder/disk/sha256.js";
import { run } from "../../src/util/exec.js";
import { bib, mountsUnder, type CliRun } from "./support/bib-cli.js";

// Fact gathering first (the task that failed without Python), then a module that writes what the
// facts say: the interpreter Ansible found in the image.
const PLAYBOOK = `- hosts: all
  tasks:
    - name: record the interpreter
      ansible.builtin.copy:
        dest: /etc/bib-ansible-python
        content: "{{ ansible_facts.distribution }} {{ ansible_facts.python.executable }}\\n"
        mode: "0644"
`;

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join("/var/tmp", "bib-ansible-python-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function build(name: string, base: Record<string, unknown>): Promise<CliRun & { output: string }> {
  const file = path.join(tmp, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      apiVersion: "bib.dev/v1alpha1",
      kind: "ImageBuild",
      metadata: { name },
      spec: {
        base,
        formats: ["tgz"],
        validate: { boot: { enabled: false } },
        provisioners: [{ name: "site", ansible: { playbook: PLAYBOOK } }],
      },
    }),
  );
  const output = path.join(tmp, `${name}-out`);
  const result = await bib([
    "build",
    "-f",
    file,
    "--output",
    output,
    "--workspace",
    path.join(tmp, `${name}-ws`),
    // Every step must run here, whatever an earlier run left in the machine's tree cache.
    "--no-cache",
  ]);
  return { ...result, output };
}

describe("an ansible provisioner on a base without Python", () => {
  it("on a minbase debootstrap: bib installs python3 first, says so, and the image keeps it", async () => {
    const result = await build("minbase", { debootstrap: { suite: "bookworm", variant: "minbase" } });
    expect(result.stderr).not.toContain("failed");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/provision\s+ansible "site"\s+ok/);

    const buildJson = JSON.parse(await readFile(path.join(result.output, "build.json"), "utf8")) as {
      buildName: string;
      artifacts: Array<{ file: string }>;
    };
    const log = await readFile(path.join(result.output, `${buildJson.buildName}.log`), "utf8");
    expect(log).toContain("the image has no Python, which the ansible provisioners need: installing python3");

    const tgz = path.join(result.output, buildJson.artifacts[0]!.file);
    const recorded = await run("tar", ["-xzOf", tgz, "./etc/bib-ansible-python"]);
    expect(recorded.stdout).toBe("Debian /usr/bin/python3\n");
    const listing = (await run("tar", ["-tzf", tgz])).stdout.split("\n");
    expect(listing).toContain("./usr/bin/python3");
  });

  it("without apt-get either: fails before provisioning, naming the provisioner and what to add", async () => {
    // A busybox tree: a shell and coreutils, no package manager, no Python.
    const tree = path.join(tmp, "busybox-tree");
    await mkdir(path.join(tree, "bin"), { recursive: true });
    await run("cp", ["/bin/busybox", path.join(tree, "bin/busybox")]);
    for (const applet of ["sh", "cat", "mkdir", "chmod", "chown", "rm"])
      await symlink("busybox", path.join(tree, "bin", applet));
    for (const dir of ["etc", "tmp", "usr/bin", "root"])
      await mkdir(path.join(tree, dir), { recursive: true });
    const tarball = path.join(tmp, "busybox.tar.gz");
    await run("tar", ["--create", "--gzip", "--numeric-owner", "--file", tarball, "-C", tree, "."]);

    const result = await build("busybox", {
      tarball: { url: `file://${tarball}`, sha256: await sha256File(tarball) },
    });
    expect(result.code).toBe(1);
    const failures = result.stderr.split("\n").filter((l) => l.startsWith("bib build: failed:"));
    expect(failures).toEqual([
      'bib build: failed: provision: packages: ansible provisioner "site" (spec.provisioners[0]): the image has no Python, which Ansible runs its modules with, and no apt-get for bib to install it; add Python to the base image, or a shell provisioner before "site" that installs it',
    ]);
    expect(result.stdout).not.toMatch(/ansible "site"\s+(ok|failed)/);
    expect(await mountsUnder(path.join(tmp, "busybox-ws"))).toEqual([]);
    expect(existsSync(path.join(tmp, "busybox-ws"))).toBe(false);
  });
});
