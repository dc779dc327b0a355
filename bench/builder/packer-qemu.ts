// The reference build the way a Packer + QEMU flow makes it, for the side-by-side in run.ts (issue
// 12, item 5): boot a base disk as a VM, install the same packages, write the same files and run the
// same playbook (real ansible-playbook, ssh connection) and shell script over SSH, shut the VM down
// and convert its disk. Nothing is cached: that flow has no step cache, so its cold and warm builds
// are the same run.
//
// The base disk stands for the cloud image a Packer template starts from: made once, untimed, by
// bib itself from the reference build's debootstrap base with openssh-server, a key of this run and
// DHCP on the NIC; its SSH host keys are made at first boot (bib's sysprep removed them and installs
// the unit that does, as a cloud image ships without them).
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse, stringify } from "yaml";
import { kvmWorks, OVMF_VARS, qemuBootArgs, type Accel } from "../../src/builder/disk/qemu-boot.js";
import { run } from "../../src/util/exec.js";
import { bib } from "../../test/e2e/support/bib-cli.js";
import { referenceImageBuild } from "../../test/e2e/support/reference-build.js";

interface ReferenceSpec {
  base: unknown;
  packages: string[];
  files: Array<{ path: string; content: string; mode: string }>;
  provisioners: Array<{
    name: string;
    ansible?: { playbook: string; extraVars: Record<string, string> };
    shell?: { script: string };
  }>;
  kernel: unknown;
  disk: unknown;
}

function referenceSpec(): ReferenceSpec {
  return (parse(referenceImageBuild("packer")) as { spec: ReferenceSpec }).spec;
}

const DHCP_NETWORK = `[Match]
Name=en*
[Network]
DHCP=yes
`;

/** The base VM disk (qcow2), made by bib from the reference build's base; untimed. */
export async function makeBaseVmDisk(tmp: string, cache: string): Promise<{ disk: string; key: string }> {
  const key = path.join(tmp, "packer-id");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bib-bench", "-f", key]);
  const publicKey = await readFile(`${key}.pub`, "utf8");
  const ref = referenceSpec();
  const spec = {
    base: ref.base,
    packages: ["openssh-server"],
    files: [
      { path: "/root/.ssh/authorized_keys", content: publicKey, mode: "0600" },
      { path: "/etc/systemd/network/10-dhcp.network", content: DHCP_NETWORK, mode: "0644" },
    ],
    provisioners: [{ name: "network", shell: { script: "systemctl enable systemd-networkd\n" } }],
    kernel: ref.kernel,
    disk: ref.disk,
    formats: ["qcow2"],
    validate: { boot: { enabled: false } },
  };
  const file = path.join(tmp, "packer-base.yaml");
  await writeFile(
    file,
    stringify({
      apiVersion: "bib.dev/v1alpha1",
      kind: "ImageBuild",
      metadata: { name: "packer-base" },
      spec,
    }),
  );
  const out = path.join(tmp, "out-packer-base");
  const result = await bib(["build", "-f", file, "--output", out, "--cache", cache]);
  if (result.code !== 0) throw new Error(`the base VM disk failed to build: ${result.stderr}`);
  const build = JSON.parse(await readFile(path.join(out, "build.json"), "utf8")) as {
    artifacts: Array<{ format: string; file: string }>;
  };
  const qcow2 = build.artifacts.find((a) => a.format === "qcow2")!;
  return { disk: path.join(out, qcow2.file), key };
}

export async function probeAccel(tmp: string): Promise<Accel> {
  const vars = path.join(tmp, "packer-probe-vars.fd");
  await copyFile(OVMF_VARS, vars);
  return (await kvmWorks(vars)) ? "kvm" : "tcg";
}

export interface PackerRun {
  wall: number;
  phases: Array<{ phase: string; seconds: number }>;
  accel: Accel;
}

const SSH_PORT = 2222;

function sshOptions(key: string): string[] {
  return [
    "-i",
    key,
    "-p",
    String(SSH_PORT),
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR",
  ];
}

/** One word for the remote shell: ssh joins its arguments into one command line. */
const quoted = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** Runs a command (an argument array, each word quoted) in the VM as root; `input` is its stdin. */
function ssh(key: string, command: string[], input?: string) {
  const line = command.map(quoted).join(" ");
  return run("ssh", [...sshOptions(key), "root@127.0.0.1", "--", line], input ? { input } : {});
}

async function waitForSsh(key: string, deadline: number, exited: () => boolean): Promise<void> {
  for (;;) {
    if (exited()) throw new Error("the VM exited before SSH came up");
    try {
      await ssh(key, ["true"]);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error("SSH did not come up in time", { cause: error });
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** One build the Packer way, from a fresh overlay on the base disk to the converted qcow2 and raw. */
export async function packerQemuBuild(
  tmp: string,
  base: { disk: string; key: string },
  accel: Accel,
): Promise<PackerRun> {
  const ref = referenceSpec();
  const phases: PackerRun["phases"] = [];
  const started = performance.now();
  let mark = started;
  const phase = (name: string) => {
    const now = performance.now();
    phases.push({ phase: name, seconds: (now - mark) / 1000 });
    mark = now;
  };

  const work = path.join(tmp, "packer-vm.qcow2");
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base.disk, "-F", "qcow2", work]);
  const vars = path.join(tmp, "packer-vars.fd");
  await copyFile(OVMF_VARS, vars);
  const args = qemuBootArgs({
    disk: work,
    format: "qcow2",
    firmware: "ovmf",
    vars,
    accel,
    nic: `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${SSH_PORT}-:22`,
    writable: true,
  });
  let consoleText = "";
  let exited = false;
  const stop = new AbortController();
  const vm = run("qemu-system-x86_64", args, {
    captureStdout: false,
    signal: stop.signal,
    onOutput: (chunk) => (consoleText += chunk),
  }).finally(() => (exited = true));
  vm.catch(() => undefined);
  try {
    await waitForSsh(base.key, Date.now() + 900_000, () => exited);
    phase("boot until SSH answers");

    // slirp's DNS; the image's apt sources name the machine's own mirror (bib's debootstrap).
    await ssh(base.key, ["install", "-m", "0644", "/dev/stdin", "/etc/resolv.conf"], "nameserver 10.0.2.3\n");
    // SSH may answer before DHCP gave the NIC its address: retry until every index was fetched.
    for (let attempt = 1; ; attempt++) {
      try {
        await ssh(base.key, ["apt-get", "-q", "--error-on=any", "update"]);
        break;
      } catch (error) {
        if (attempt === 10) throw error;
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    await ssh(base.key, [
      "env",
      "DEBIAN_FRONTEND=noninteractive",
      "apt-get",
      "-q",
      "install",
      "-y",
      "--no-install-recommends",
      ...ref.packages,
    ]);
    phase("packages (apt over SSH)");

    for (const f of ref.files) {
      await ssh(base.key, ["install", "-D", "-m", f.mode, "/dev/stdin", f.path], f.content);
    }
    phase("files (over SSH)");

    for (const p of ref.provisioners) {
      if (p.ansible) {
        const playbook = path.join(tmp, `packer-${p.name}.yml`);
        await writeFile(playbook, p.ansible.playbook);
        await run(
          "ansible-playbook",
          [
            "-i",
            "127.0.0.1,",
            "-c",
            "ssh",
            "-u",
            "root",
            "--private-key",
            base.key,
            "-e",
            `ansible_port=${SSH_PORT}`,
            "-e",
            "ansible_python_interpreter=/usr/bin/python3",
            "-e",
            JSON.stringify(p.ansible.extraVars),
            playbook,
          ],
          {
            env: {
              ...process.env,
              ANSIBLE_HOST_KEY_CHECKING: "False",
              ANSIBLE_SSH_ARGS: "-o UserKnownHostsFile=/dev/null -o ControlMaster=auto -o ControlPersist=60s",
            },
          },
        );
        phase(`ansible "${p.name}" (ssh connection)`);
      } else if (p.shell) {
        await ssh(base.key, ["/bin/sh", "-s"], p.shell.script);
        phase(`shell "${p.name}" (over SSH)`);
      }
    }

    await ssh(base.key, ["systemctl", "poweroff"]).catch(() => undefined);
    await vm;
    phase("shut down");
  } finally {
    // A failed step leaves the VM running: stop it (our own child only).
    if (!exited) stop.abort();
    await writeFile(path.join(tmp, "packer-console.log"), consoleText);
  }

  await Promise.all(
    (["qcow2", "raw"] as const).map((format) =>
      run("qemu-img", ["convert", "-f", "qcow2", "-O", format, work, path.join(tmp, `packer.${format}`)]),
    ),
  );
  phase("convert (qemu-img convert to qcow2 and raw)");
  return { wall: (performance.now() - started) / 1000, phases, accel };
}
