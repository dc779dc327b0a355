// A playbook written for a booted machine, with the patterns of kubernetes-sigs/image-builder's
// node roles, runs unchanged through the real CLI; the booted image proves its effects with
// spec.validate.boot.checks run inside the test VM; the build host's state is unchanged; the
// published artifacts are byte for byte what the package stage produced.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { run } from "../../src/util/exec.js";
import { bib, mountsUnder, type CliRun } from "./support/bib-cli.js";
import { hostState, mountPoints } from "./support/host-state.js";
import { ownCache } from "./support/own-cache.js";

const PLAYBOOK = `- hosts: all
  gather_facts: true
  tasks:
    - name: container kernel modules
      community.general.modprobe:
        name: "{{ item }}"
        state: present
        persistent: present
      loop: [overlay, br_netfilter]
    - name: kubernetes kernel parameters
      ansible.posix.sysctl:
        name: "{{ item.name }}"
        value: "{{ item.value }}"
        sysctl_file: /etc/sysctl.d/99-kubernetes.conf
        sysctl_set: true
        reload: true
      loop:
        - { name: net.ipv4.ip_forward, value: "1" }
        - { name: net.bridge.bridge-nf-call-iptables, value: "1" }
        - { name: vm.overcommit_memory, value: "1" }
    - name: a node service
      ansible.builtin.copy:
        dest: /etc/systemd/system/bib-node.service
        mode: "0644"
        content: |
          [Unit]
          Description=bib node service
          [Service]
          Type=oneshot
          RemainAfterExit=true
          ExecStart=/bin/true
          [Install]
          WantedBy=multi-user.target
    - name: started and enabled
      ansible.builtin.service:
        name: bib-node
        state: started
        enabled: true
    - name: masked
      ansible.builtin.systemd:
        name: apt-daily.timer
        masked: true
    - ansible.builtin.file:
        path: /etc/default/grub.d
        state: directory
        mode: "0755"
    - name: kernel parameters the Debian way
      ansible.builtin.copy:
        dest: /etc/default/grub.d/50-bib.cfg
        mode: "0644"
        content: |
          GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX bib.grubd=1"
      notify: update grub
    - name: journal housekeeping
      ansible.builtin.command: "{{ item }}"
      loop: ["journalctl --rotate", "journalctl --vacuum-time=1s"]
    - name: disable swap
      ansible.builtin.command: swapoff -a
    - name: hostname
      ansible.builtin.hostname:
        name: bib-node
    - ansible.builtin.package_facts:
    - ansible.builtin.assert:
        that: "'systemd' in ansible_facts.packages and ansible_swaptotal_mb == 0"
    - name: reset cloud-init
      ansible.builtin.command: cloud-init clean --logs
  handlers:
    - name: update grub
      ansible.builtin.command: update-grub
`;

export const CHECKS = [
  {
    name: "modules loaded at boot",
    run: "grep -q '^overlay ' /proc/modules && grep -q '^br_netfilter ' /proc/modules",
  },
  {
    name: "kernel parameters",
    run: 'for k in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables vm/overcommit_memory; do test "$(cat /proc/sys/$k)" = 1 || { echo "$k=$(cat /proc/sys/$k)"; exit 1; }; done',
  },
  {
    name: "service enabled and active",
    run: "systemctl is-enabled bib-node && systemctl is-active bib-node",
  },
  { name: "timer masked", run: 'test "$(systemctl is-enabled apt-daily.timer)" = masked' },
  { name: "grub.d parameter", run: "grep -q 'bib.grubd=1' /proc/cmdline" },
  { name: "hostname", run: 'test "$(hostname)" = bib-node' },
];

function imageBuild(): string {
  return stringify({
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name: "booted" },
    spec: {
      base: {
        debootstrap: { suite: "bookworm", variant: "minbase", include: ["systemd-sysv", "udev", "python3"] },
      },
      packages: ["python3-apt", "cloud-init"],
      provisioners: [{ name: "node", ansible: { playbook: PLAYBOOK } }],
      disk: { size: "3Gi" },
      formats: ["qcow2", "raw"],
      validate: { boot: { timeoutSeconds: 900, expect: ["login:"], checks: CHECKS } },
    },
  });
}

let tmp: string;
let result: CliRun;
let output: string;
let workspace: string;
let hostBefore: Awaited<ReturnType<typeof hostState>>;
let mountsBefore: string[];

interface BuildJson {
  artifacts: Array<{ format: string; file: string; sha256: string }>;
}

beforeAll(async () => {
  tmp = await mkdtemp("/var/tmp/bib-booted-");
  const file = path.join(tmp, "imagebuild.yaml");
  await writeFile(file, imageBuild());
  output = path.join(tmp, "out");
  workspace = path.join(tmp, "ws");
  hostBefore = await hostState();
  mountsBefore = await mountPoints();
  const cache = await ownCache(path.join(tmp, "cache"));
  result = await bib(
    [
      "build",
      "-f",
      file,
      "--output",
      output,
      "--workspace",
      workspace,
      "--keep-workspace",
      "--cache",
      cache.dir,
    ],
    { capabilities: "reduced" },
  );
  await cache.share();
  console.log(
    `booted build: ${result.seconds.toFixed(0)} s\n${result.stdout.split("\n\n").slice(-3).join("\n\n")}`,
  );
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("a playbook written for a booted machine, proven inside the booted image", () => {
  it("builds, and every check passes in the booted test VM", async () => {
    if (result.code !== 0) console.log(result.stderr);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/validate\s+validate\s+ok/);
    expect(result.stdout).toContain(`${CHECKS.length}/${CHECKS.length} checks passed`);
    for (const c of CHECKS) expect(result.stdout).toContain(c.name);
    const logFile = (await readdir(output)).find((f) => f.endsWith(".log"))!;
    const log = await readFile(path.join(output, logFile), "utf8");
    for (const c of CHECKS) expect(log).toContain(`validate: check \\"${c.name}\\" passed`);
  });

  it("left the build host's kernel parameters, swap, hostname, modules and mounts as they were", async () => {
    expect(await hostState()).toEqual(hostBefore);
    const newMounts = (await mountPoints()).filter((m) => !mountsBefore.includes(m));
    expect(newMounts.filter((m) => m.startsWith(tmp) || m === "/mnt")).toEqual([]);
    expect(await mountsUnder(tmp)).toEqual([]);
  });

  it("publishes exactly what the package stage produced: the checks left nothing in the artifacts", async () => {
    const packaged = JSON.parse(
      await readFile(path.join(workspace, "workspace/state/artifacts.json"), "utf8"),
    ) as Array<{
      format: string;
      sha256: string;
    }>;
    const build = JSON.parse(await readFile(path.join(output, "build.json"), "utf8")) as BuildJson;
    expect(build.artifacts.map((a) => a.format).sort()).toEqual(["qcow2", "raw"]);
    for (const a of build.artifacts) {
      const [sum] = (await run("sha256sum", [path.join(output, a.file)])).stdout.split(" ");
      expect(sum).toBe(a.sha256);
      expect(packaged.find((p) => p.format === a.format)?.sha256).toBe(sum);
    }
    const raw = path.join(output, build.artifacts.find((a) => a.format === "raw")!.file);
    const strings = (await run("grep", ["-c", "-a", "BIB-AGENT", raw]).catch(() => ({ stdout: "0\n" })))
      .stdout;
    expect(strings.trim()).toBe("0");
  });
});
