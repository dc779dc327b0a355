// The provisioned-tree cache through the real CLI: a tarball base, a git-sourced playbook, a
// ConfigMap playbook with extraVars and a shell script, built into a tgz. A rebuild starts from the
// longest cached prefix; a change to a step reruns it and every step after it; a cached rebuild's
// tgz equals a cold build's; a build killed while saving leaves no entry a later build uses; and a
// cached rebuild's disk boots holding what every step made.
//
// One cold build and its unchanged rebuild are shared by every test, each later build starts from
// what the tests before it cached, and only one build boots: the tests run in order.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/util/exec.js";
import { bib, mountsUnder } from "./support/bib-cli.js";
import { minbaseTarball } from "./support/minbase-tarball.js";

let tmp: string;
let cache: string;
let repo: string;
let base: { file: string; sha256: string };
const TIMESTAMP = "1700000000";

const gitPlaybook = (marker: string) => `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy: { dest: /etc/from-git, content: "${marker}\\n", mode: "0644" }
`;

const CONFIGMAP_PLAYBOOK = (marker: string) => `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy: { dest: /etc/from-configmap, content: "${marker} {{ flavour }}\\n", mode: "0640", owner: "0", group: "0" }
`;

async function commitPlaybook(marker: string): Promise<void> {
  await writeFile(path.join(repo, "site.yml"), gitPlaybook(marker));
  const git = (...args: string[]) => run("git", ["-C", repo, ...args]);
  await git("add", "site.yml");
  await git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", marker);
}

interface Variant {
  flavour?: string;
  configMap?: string;
  script?: string;
  formats?: string[];
  validate?: string[];
}

function manifests(v: Variant): string {
  const imageBuild = {
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name: "cached" },
    spec: {
      base: { tarball: { url: `file://${base.file}`, sha256: base.sha256 } },
      files: [{ path: "/etc/from-files", content: "files\n", mode: "0600" }],
      provisioners: [
        { name: "git", ansible: { git: { url: `file://${repo}`, ref: "main", path: "site.yml" } } },
        {
          name: "configmap",
          ansible: {
            configMapRef: { name: "playbooks", key: "site.yml" },
            extraVars: { flavour: v.flavour ?? "plain" },
          },
        },
        {
          name: "script",
          shell: {
            script:
              v.script ??
              "echo one > /etc/from-script\nmknod /etc/bib-null c 1 3\nln /etc/from-script /etc/from-script-link\n",
          },
        },
      ],
      kernel: { cmdline: ["console=ttyS0"] },
      disk: { size: "2Gi" },
      formats: v.formats ?? ["tgz"],
      validate: {
        boot: { enabled: Boolean(v.validate), timeoutSeconds: 600, expect: v.validate ?? ["login:"] },
      },
    },
  };
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "playbooks" },
    data: { "site.yml": CONFIGMAP_PLAYBOOK(v.configMap ?? "cm-1") },
  };
  return `${stringify(imageBuild)}---\n${stringify(configMap)}`;
}

interface Built {
  outcomes: Record<string, string>;
  out: string;
  stdout: string;
}

let builds = 0;
async function build(v: Variant, extra: string[] = []): Promise<Built> {
  const n = builds++;
  const file = path.join(tmp, `spec-${n}.yaml`);
  await writeFile(file, manifests(v));
  const out = path.join(tmp, `out-${n}`);
  const workspace = path.join(tmp, `ws-${n}`);
  const result = await bib(
    ["build", "-f", file, "--output", out, "--cache", cache, "--workspace", workspace, ...extra],
    {
      env: { ...process.env, BUILD_TIMESTAMP: TIMESTAMP },
    },
  );
  if (result.code !== 0) throw new Error(`build ${n} failed:\n${result.stdout}\n${result.stderr}`);
  const outcomes: Record<string, string> = {};
  for (const line of result.stdout.split("\n")) {
    const m =
      /^(base|provision|package|validate|publish)\s+(.+?)\s+(ok|cached|failed|skipped)\s+[\d.]+$/.exec(
        line.trim(),
      );
    if (m) outcomes[m[2]!] = m[3]!;
  }
  return { outcomes, out, stdout: result.stdout };
}

async function tgzFile(built: Built): Promise<string> {
  const name = (await readdir(built.out)).find((f) => f.endsWith(".tar.gz"))!;
  return path.join(built.out, name);
}

async function fileInTgz(built: Built, member: string): Promise<string> {
  return (await run("tar", ["-xOzf", await tgzFile(built), member])).stdout;
}

async function tgzSha(built: Built): Promise<string> {
  return (await run("sha256sum", [await tgzFile(built)])).stdout.split(" ")[0]!;
}

const STEPS = ["packages", "files", 'ansible "git"', 'ansible "configmap"', 'shell "script"'];
const outcomesOf = (b: Built) => STEPS.map((s) => b.outcomes[s]);

let cold: Built;
let warm: Built;

beforeAll(async () => {
  tmp = await mkdtemp("/var/tmp/bib-tree-cache-");
  cache = path.join(tmp, "cache");
  repo = path.join(tmp, "playbooks.git");
  await run("git", ["init", "-q", "-b", "main", repo]);
  await commitPlaybook("git-1");
  base = await minbaseTarball();
  cold = await build({});
  warm = await build({});
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("the provisioned-tree cache", () => {
  it("saves after each step of a cold build and restores the whole prefix on an unchanged rebuild", () => {
    expect(outcomesOf(cold)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(outcomesOf(warm)).toEqual(["cached", "cached", "cached", "cached", "cached"]);
    expect(warm.outcomes.tarball).toBe("cached");
  });

  it("gives a cached rebuild the same tgz bytes as a cold build (owners, modes, device node, hard link)", async () => {
    expect(await tgzSha(warm)).toBe(await tgzSha(cold));
    const listing = (await run("tar", ["-tvzf", await tgzFile(warm), "--numeric-owner"])).stdout;
    expect(listing).toMatch(/^crw-r--r-- 0\/0\s+1,3 .* \.\/etc\/bib-null$/m);
    expect(listing).toMatch(
      /^hrw-r--r-- 0\/0\s+0 .* \.\/etc\/from-script-link link to \.\/etc\/from-script$/m,
    );
    expect(listing).toMatch(/^-rw------- 0\/0 .* \.\/etc\/from-files$/m);
  });

  it("reruns only the last provisioner when only it changed; the disk boots and holds what every earlier step made and what the changed step makes now", async () => {
    const line = "BIB-CACHED-REBUILD-SCRIPT";
    const script = `echo two > /etc/from-script
cat > /etc/systemd/system/bib-cached.service <<'UNIT'
[Unit]
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo ${line} $(cat /etc/from-script /etc/from-git /etc/from-configmap /etc/from-files | tr "\\\\n" " ") > /dev/console'
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable bib-cached.service
`;
    // A disk format adds the boot packages to the keys: one build caches that chain first.
    expect(outcomesOf(await build({ formats: ["qcow2"] }))).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    // The unit prints what every step wrote: the boot shows the image holds all of it.
    const b = await build({
      formats: ["qcow2"],
      script,
      validate: ["login:", `${line} two git-1 cm-1 plain files`],
    });
    expect(outcomesOf(b)).toEqual(["cached", "cached", "cached", "cached", "ok"]);
    expect(b.outcomes.validate).toBe("ok");
  });

  it("reruns a step and every step after it when its extraVars change", async () => {
    const b = await build({ flavour: "spicy" });
    expect(outcomesOf(b)).toEqual(["cached", "cached", "cached", "ok", "ok"]);
    expect(await fileInTgz(b, "./etc/from-configmap")).toBe("cm-1 spicy\n");
  });

  it("reruns a step and every step after it when its ConfigMap's content changes", async () => {
    const b = await build({ configMap: "cm-2" });
    expect(outcomesOf(b)).toEqual(["cached", "cached", "cached", "ok", "ok"]);
    expect(await fileInTgz(b, "./etc/from-configmap")).toBe("cm-2 plain\n");
  });

  it("reruns a git playbook and every step after it when a new commit is behind the same ref", async () => {
    await commitPlaybook("git-2");
    const b = await build({});
    expect(outcomesOf(b)).toEqual(["cached", "cached", "ok", "ok", "ok"]);
    expect(await fileInTgz(b, "./etc/from-git")).toBe("git-2\n");
  });

  it("leaves no entry a later build uses when killed while saving one", async () => {
    const file = path.join(tmp, "kill.yaml");
    await writeFile(file, manifests({ script: "echo killed > /etc/from-script\n" }));
    const trees = path.join(cache, "trees");
    const workspace = path.join(tmp, "ws-kill");
    const killed = await bib(
      [
        "build",
        "-f",
        file,
        "--output",
        path.join(tmp, "out-kill"),
        "--cache",
        cache,
        "--workspace",
        workspace,
      ],
      {
        env: { ...process.env, BUILD_TIMESTAMP: TIMESTAMP },
        onSpawn(pid, output) {
          // Every earlier step is cached (the git test saved them): the first entry written is the
          // last step's. Kill the build as soon as it is being written.
          const timer = setInterval(() => {
            void readdir(trees)
              .catch(() => [] as string[])
              .then((names) => {
                if (output().includes('shell "script"') && names.some((n) => n.endsWith(".partial"))) {
                  clearInterval(timer);
                  process.kill(pid, "SIGKILL");
                }
              });
          }, 20);
        },
      },
    );
    expect(killed.signal).toBe("SIGKILL");
    const partials = (await readdir(trees)).filter((n) => n.endsWith(".partial"));
    expect(partials.length).toBeGreaterThan(0);
    expect(await mountsUnder(workspace)).toEqual([]);
    // The entries the git test saved under the new commit are used; the half-written one is not.
    const after = await build({ script: "echo killed > /etc/from-script\n" });
    expect(outcomesOf(after)).toEqual(["cached", "cached", "cached", "cached", "ok"]);
    expect(await fileInTgz(after, "./etc/from-script")).toBe("killed\n");
    expect(await fileInTgz(after, "./etc/from-git")).toBe("git-2\n");
  });

  it("ignores and keeps the cache with --no-cache, shows the entries with the step they follow, and prunes them", async () => {
    const entries = async () =>
      (await readdir(path.join(cache, "trees"))).filter((n) => n.endsWith(".tar")).sort();
    const before = await entries();
    const noCache = await build({}, ["--no-cache"]);
    expect(outcomesOf(noCache)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(noCache.outcomes.tarball).toBe("ok");
    expect(await entries()).toEqual(before);
    const ls = await bib(["cache", "ls", "--cache", cache]);
    expect(ls.stdout).toContain('shell "script"');
    expect(ls.stdout).toContain('ansible "configmap"');
    const prune = await bib(["cache", "prune", "--cache", cache, "--max-size", "1Ki"]);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain("0 entries, 0.0 MiB");
    expect(await entries()).toEqual([]);
  });
});
