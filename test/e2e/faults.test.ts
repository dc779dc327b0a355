// Each failure ends with ONE clear line naming the stage (and step or Ansible task), a non-zero
// exit, nothing mounted under the workspace and no artifact under a final name.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { bib, mountsUnder, type CliOptions, type CliRun } from "./support/bib-cli.js";
import { minbaseTarball } from "./support/minbase-tarball.js";

let tmp: string;
let base: { file: string; sha256: string };

beforeAll(async () => {
  base = await minbaseTarball();
  tmp = await mkdtemp(path.join("/var/tmp", "bib-faults-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function imageBuild(name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name },
    spec: {
      base: { tarball: { url: `file://${base.file}`, sha256: base.sha256 } },
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
      ...spec,
    },
  });
}

interface Fault {
  run: CliRun;
  workspace: string;
  output: string;
  lastLine: string;
}

async function build(
  name: string,
  spec: Record<string, unknown>,
  onSpawn?: CliOptions["onSpawn"],
  moreManifests: Record<string, unknown>[] = [],
): Promise<Fault> {
  const file = path.join(tmp, `${name}.yaml`);
  await writeFile(file, [imageBuild(name, spec), ...moreManifests.map((m) => stringify(m))].join("---\n"));
  const workspace = path.join(tmp, `${name}-ws`);
  const output = path.join(tmp, `${name}-out`);
  const run = await bib(
    // A cache of this file's own: entries of another test or run would skip the failing steps.
    ["build", "-f", file, "--output", output, "--workspace", workspace, "--cache", path.join(tmp, "cache")],
    onSpawn ? { onSpawn } : {},
  );
  const errLines = run.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("bib build: failed:"));
  return { run, workspace, output, lastLine: errLines.join("\n") };
}

async function expectCleanFailure(fault: Fault): Promise<void> {
  expect(fault.run.code).not.toBe(0);
  expect(fault.lastLine.split("\n")).toHaveLength(1);
  expect(await mountsUnder(fault.workspace)).toEqual([]);
  expect(existsSync(fault.workspace)).toBe(false);
  const files = existsSync(fault.output) ? await readdir(fault.output) : [];
  expect(files.filter((f) => !f.endsWith(".log"))).toEqual([]);
}

describe("a build that fails", () => {
  it("on a wrong tarball sha256 names the field, expected and actual, before extracting", async () => {
    const wrong = "0".repeat(64);
    const fault = await build("badsum", { base: { tarball: { url: `file://${base.file}`, sha256: wrong } } });
    await expectCleanFailure(fault);
    expect(fault.lastLine).toContain("base: tarball: spec.base.tarball.sha256 does not match");
    expect(fault.lastLine).toContain(`expected ${wrong}, got ${base.sha256}`);
  });

  it("on a failing Ansible task names the provisioner and the task", async () => {
    const playbook = `- hosts: all
  gather_facts: false
  tasks:
    - name: this one passes
      ansible.builtin.command: /bin/true
    - name: install the impossible
      ansible.builtin.command: /bin/false
`;
    const fault = await build("ansiblefail", { provisioners: [{ name: "site", ansible: { playbook } }] });
    await expectCleanFailure(fault);
    expect(fault.lastLine).toMatch(/provision: ansible "site": task "install the impossible" failed: /);
  });

  it("with a playbook that prints a secret variable, the secret is in neither the log nor the error", async () => {
    const secret = "hunter2-correct-horse-battery";
    const playbook = `- hosts: all
  gather_facts: false
  tasks:
    - name: show what we were given
      ansible.builtin.debug:
        msg: "the password is {{ db_password }}"
    - name: reach the database
      ansible.builtin.fail:
        msg: "cannot log in with {{ db_password }}"
`;
    const fault = await build(
      "ansiblesecret",
      {
        provisioners: [
          {
            name: "site",
            ansible: { playbook, extraVarsSecretRef: { name: "site-vars", key: "vars.json" } },
          },
        ],
      },
      undefined,
      [
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "site-vars" },
          stringData: { "vars.json": JSON.stringify({ db_password: secret }) },
        },
      ],
    );
    await expectCleanFailure(fault);
    expect(fault.lastLine).toMatch(
      /provision: ansible "site": task "reach the database" failed: cannot log in with \[REDACTED\]/,
    );
    const logFile = /^log: (.*)$/m.exec(fault.run.stderr)?.[1];
    expect(logFile).toBeDefined();
    const log = await readFile(logFile!, "utf8");
    // The debug task ran: its output is in the log, without the value.
    expect(log).toContain("the password is [REDACTED]");
    expect(`${fault.run.stdout}${fault.run.stderr}${log}`).not.toContain(secret);
  });

  it("on a shell script that exits 1 names the provisioner and the status", async () => {
    const script = "echo about to fail >&2\nexit 1\n";
    const fault = await build("shellfail", { provisioners: [{ name: "breaks", shell: { script } }] });
    await expectCleanFailure(fault);
    expect(fault.lastLine).toMatch(/provision: shell "breaks": script exited with status 1: about to fail/);
  });

  it("on SIGTERM during provisioning kills the script, unmounts and exits non-zero", async () => {
    const script = "echo bib-sleeping\nexec sleep 317\n";
    let pid = 0;
    let output = () => "";
    const pending = build("sigterm", { provisioners: [{ name: "sleeper", shell: { script } }] }, (p, o) => {
      pid = p;
      output = o;
    });
    const deadline = Date.now() + 300_000;
    while (!output().includes('provision: shell "sleeper" ...') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(await sleepers()).not.toEqual([]);
    process.kill(pid, "SIGTERM");
    const fault = await pending;
    await expectCleanFailure(fault);
    expect(fault.run.code).toBe(143);
    expect(fault.lastLine).toMatch(/provision: shell "sleeper": interrupted by SIGTERM/);
    expect(await sleepers()).toEqual([]);
  });

  it("on a disk too small for the tree stops in the package stage", async () => {
    const fault = await build("toosmall", {
      provisioners: [{ name: "fill", shell: { script: "head -c 600M /dev/zero > /var/filler\n" } }],
      disk: { size: "512Mi" },
      formats: ["raw"],
    });
    await expectCleanFailure(fault);
    expect(fault.lastLine).toMatch(/^bib build: failed: package: /);
    expect(fault.lastLine).toMatch(/spec\.disk\.size/);
  });
});

/** Processes running the provisioner's `sleep 317`. */
async function sleepers(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmd === "sleep\u0000317\u0000") found.push(entry);
  }
  return found;
}
