// The provision chroot as a playbook written for a booted machine sees it, on a real Debian tree
// with a kernel: each stand-in answers as the booted machine would (or fails as the real program
// does), /proc shows the image's modules and no swap, and a playbook that tries to change every
// piece of host state (kernel parameters, swap, hostname, modules, mounts) leaves the host as it was.
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChrootSession } from "../../src/builder/chroot/session.js";
import { STAND_IN_MARKER } from "../../src/builder/chroot/standins.js";
import { ansibleArgs, ansibleEnv } from "../../src/builder/stages/provision.js";
import { CommandError, run } from "../../src/util/exec.js";
import { debianRootfs, E2E_CACHE } from "./support/debian-rootfs.js";
import { hostState, mountPoints } from "./support/host-state.js";

let tmp: string;
let rootfs: string;
let session: ChrootSession;

/** Runs in the chroot; returns the exit status and both streams. */
async function inChroot(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await session.exec(args);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    return { code: error.exitCode ?? -1, out: error.outputTail };
  }
}

beforeAll(async () => {
  const tree = await debianRootfs({
    suite: "bookworm",
    variant: "minbase",
    include: ["systemd-sysv", "linux-image-cloud-amd64", "udev", "python3"],
  });
  tmp = await mkdtemp(path.join(E2E_CACHE, "ws-booted-chroot-"));
  rootfs = path.join(tmp, "rootfs");
  await run("cp", ["-a", tree, rootfs]);
  session = new ChrootSession(rootfs);
  await session.open();
});

afterAll(async () => {
  await session?.close().catch(() => undefined);
  await rm(tmp, { recursive: true, force: true });
});

describe("the stand-ins, one by one, in a chroot of a real tree", () => {
  it("modprobe loads a module the image's kernel ships into the chroot's /proc/modules, with its dependencies", async () => {
    expect(await inChroot(["cat", "/proc/modules"])).toEqual({ code: 0, out: "" });
    expect((await inChroot(["modprobe", "br_netfilter"])).code).toBe(0);
    const modules = (await inChroot(["cat", "/proc/modules"])).out;
    expect(modules).toMatch(/^br_netfilter \d+ 0 - Live /m);
    expect(modules).toMatch(/^bridge /m); // br_netfilter depends on bridge in Debian's kernel
    expect((await inChroot(["lsmod"])).out).toMatch(/^br_netfilter\s/m);
    expect((await inChroot(["modprobe", "-r", "br_netfilter"])).code).toBe(0);
    expect((await inChroot(["cat", "/proc/modules"])).out).not.toMatch(/^br_netfilter /m);
  });

  it("modprobe fails clearly for a module the image's kernel does not have", async () => {
    const { code, out } = await inChroot(["modprobe", "no_such_module_xyz"]);
    expect(code).toBe(1);
    expect(out).toMatch(/Module no_such_module_xyz not found in directory \/lib\/modules\/6\.\d/);
  });

  it("sysctl reports what was asked (-w, -p, --system) and reads it back, applying nothing", async () => {
    const before = await readFile("/proc/sys/vm/swappiness", "utf8");
    expect(await inChroot(["sysctl", "-w", "vm.swappiness=3"])).toEqual({
      code: 0,
      out: "vm.swappiness = 3\n",
    });
    expect(await inChroot(["sysctl", "-n", "vm.swappiness"])).toEqual({ code: 0, out: "3\n" });
    await writeFile(path.join(rootfs, "etc/sysctl.d/90-bib.conf"), "# comment\nvm.overcommit_memory = 1\n");
    expect((await inChroot(["sysctl", "-p", "/etc/sysctl.d/90-bib.conf"])).out).toBe(
      "vm.overcommit_memory = 1\n",
    );
    expect((await inChroot(["sysctl", "--system"])).out).toContain(
      "* Applying /etc/sysctl.d/90-bib.conf ...",
    );
    expect((await inChroot(["sysctl", "-w", "vm.swappiness"])).code).toBe(255);
    expect((await inChroot(["sysctl", "-n", "no.such.key"])).code).toBe(255);
    expect(await readFile("/proc/sys/vm/swappiness", "utf8")).toBe(before);
  });

  it("journalctl rotate, vacuum and flush succeed and do nothing", async () => {
    for (const args of [["--rotate"], ["--vacuum-time=1s"], ["--vacuum-size=1M"], ["--flush"]]) {
      expect((await inChroot(["journalctl", ...args])).code).toBe(0);
    }
  });

  it("swapoff, swapon and fstrim succeed and do nothing", async () => {
    for (const args of [
      ["swapoff", "-a"],
      ["swapon", "-a"],
      ["fstrim", "-av"],
    ]) {
      expect(await inChroot(args)).toEqual({ code: 0, out: "" });
    }
  });

  it("hostnamectl sets the image's static hostname", async () => {
    expect((await inChroot(["hostnamectl", "set-hostname", "node-1"])).code).toBe(0);
    expect(await readFile(path.join(rootfs, "etc/hostname"), "utf8")).toBe("node-1\n");
    expect((await inChroot(["hostnamectl", "--static", "status"])).out).toBe("node-1\n");
    const transient = "hostnamectl --transient set-hostname t-1 && hostnamectl --transient status";
    expect((await inChroot(["/bin/sh", "-c", transient])).out).toBe("t-1\n");
    expect(await readFile(path.join(rootfs, "etc/hostname"), "utf8")).toBe("node-1\n");
  });

  it("timedatectl sets the image's time zone and refuses one that is not installed", async () => {
    expect((await inChroot(["timedatectl", "set-timezone", "Etc/UTC"])).code).toBe(0);
    expect(await readlink(path.join(rootfs, "etc/localtime"))).toBe("/usr/share/zoneinfo/Etc/UTC");
    expect((await inChroot(["timedatectl", "set-ntp", "true"])).code).toBe(0);
    expect((await inChroot(["timedatectl", "set-timezone", "Mars/Olympus"])).code).toBe(1);
  });

  it("localectl writes Debian's /etc/default/locale", async () => {
    expect((await inChroot(["localectl", "set-locale", "LANG=C.UTF-8"])).code).toBe(0);
    expect(await readFile(path.join(rootfs, "etc/default/locale"), "utf8")).toBe("LANG=C.UTF-8\n");
  });

  it("udevadm trigger and settle succeed; other verbs reach the real udevadm", async () => {
    expect((await inChroot(["udevadm", "trigger"])).code).toBe(0);
    expect((await inChroot(["udevadm", "settle", "--timeout=5"])).code).toBe(0);
    expect((await inChroot(["udevadm", "--version"])).out).toMatch(/^\d+/);
  });

  it("mount -a does nothing; a plain mount stays in the build's mount namespace", async () => {
    await writeFile(path.join(rootfs, "etc/fstab"), "tmpfs /mnt tmpfs defaults 0 0\n");
    expect((await inChroot(["mount", "-a"])).code).toBe(0);
    expect((await inChroot(["mount", "-t", "tmpfs", "tmpfs", "/mnt"])).code).toBe(0);
    const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
    expect(mountinfo).not.toContain(path.join(rootfs, "mnt"));
  });

  it("update-grub, grub-mkconfig and grub-install succeed and write nothing", async () => {
    for (const args of [
      ["update-grub"],
      ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"],
      ["grub-install", "/dev/sda"],
    ]) {
      const { code, out } = await inChroot(args);
      expect(code).toBe(0);
      expect(out).toContain("bootable stage");
    }
    await expect(lstat(path.join(rootfs, "boot/grub/grub.cfg"))).rejects.toThrow();
  });

  it("shows no swap and a read-only /proc/sys", async () => {
    expect((await inChroot(["cat", "/proc/meminfo"])).out).toMatch(/^SwapTotal:\s+0 kB$/m);
    expect((await inChroot(["cat", "/proc/swaps"])).out.trim().split("\n")).toHaveLength(1);
    const write = await inChroot(["/bin/sh", "-c", "echo 60 > /proc/sys/vm/swappiness"]);
    expect(write.code).not.toBe(0);
    expect(write.out).toMatch(/Read-only file system/);
  });
});

const PLAYBOOK = `- hosts: all
  gather_facts: true
  tasks:
    - name: no swap in the facts (a booted image has none yet)
      ansible.builtin.assert:
        that: ansible_swaptotal_mb == 0
    - name: kernel modules
      community.general.modprobe:
        name: "{{ item }}"
        state: present
        persistent: present
      loop: [overlay, br_netfilter]
    - name: a module the kernel does not ship
      community.general.modprobe:
        name: no_such_module_xyz
      register: missing
      ignore_errors: true
    - ansible.builtin.assert:
        that: missing is failed and 'not found' in missing.msg
    - name: kernel parameters
      ansible.posix.sysctl:
        name: "{{ item.name }}"
        value: "{{ item.value }}"
        sysctl_file: /etc/sysctl.d/99-kubernetes-cri.conf
        sysctl_set: true
        reload: true
      loop:
        - { name: net.ipv4.ip_forward, value: "1" }
        - { name: vm.overcommit_memory, value: "1" }
        - { name: kernel.pid_max, value: "99999" }
    - ansible.builtin.command: sysctl -w vm.swappiness=1
    - ansible.builtin.command: sysctl --system
    - ansible.builtin.command: swapoff -a
    - ansible.builtin.command: swapon -a
    - ansible.builtin.command: fstrim -av
    - ansible.builtin.command: mount -a
    - ansible.builtin.command: mount -t tmpfs tmpfs /mnt
    - ansible.builtin.hostname:
        name: bib-node
    - ansible.builtin.command: hostnamectl set-hostname bib-node
    - ansible.builtin.command: timedatectl set-timezone Etc/UTC
    - ansible.builtin.command: localectl set-locale LANG=C.UTF-8
    - ansible.builtin.command: udevadm trigger
    - ansible.builtin.command: udevadm settle
    - ansible.builtin.command: journalctl --rotate
    - ansible.builtin.command: journalctl --vacuum-time=1s
    - ansible.builtin.command: journalctl --flush
    - name: a direct write to the kernel's parameters
      ansible.builtin.shell: echo 0 > /proc/sys/vm/overcommit_memory
      register: direct
      ignore_errors: true
    - ansible.builtin.assert:
        that: direct is failed
    - ansible.builtin.command: /bin/true
      notify: update grub
  handlers:
    - name: update grub
      ansible.builtin.command: update-grub
`;

describe("a playbook that tries every piece of host state", () => {
  it("runs through, persists into the image, and leaves the host's values as they were", async () => {
    const before = await hostState();
    const mountsBefore = await mountPoints();
    const scratch = path.join(tmp, "ansible");
    await run("mkdir", ["-p", scratch]);
    const playbook = path.join(scratch, "site.yml");
    await writeFile(playbook, PLAYBOOK);
    await writeFile(path.join(scratch, "ansible.cfg"), "[defaults]\n");
    const [cmd, ...args] = session.inBuildNamespace([
      "ansible-playbook",
      ...ansibleArgs(rootfs, playbook, []),
    ]);
    const result = await run(cmd!, args, { cwd: scratch, env: ansibleEnv(scratch) }).catch((e: unknown) => {
      throw new Error(`ansible-playbook failed:\n${(e as CommandError).outputTail}`);
    });
    expect(result.stdout).toMatch(/failed=0/);
    expect(await hostState()).toEqual(before);
    // Other builds on this machine mount and unmount meanwhile: only mounts of this playbook count.
    const newMounts = (await mountPoints()).filter((m) => !mountsBefore.includes(m));
    expect(newMounts.filter((m) => m.startsWith(tmp) || m === "/mnt")).toEqual([]);

    expect(await readFile(path.join(rootfs, "etc/modules-load.d/br_netfilter.conf"), "utf8")).toContain(
      "br_netfilter",
    );
    expect(await readFile(path.join(rootfs, "etc/sysctl.d/99-kubernetes-cri.conf"), "utf8")).toContain(
      "net.ipv4.ip_forward=1",
    );
    expect(await readFile(path.join(rootfs, "etc/hostname"), "utf8")).toBe("bib-node\n");
  });

  it("after close: originals back, no stand-in, no /proc view left in the tree", async () => {
    await session.close();
    expect(await readlink(path.join(rootfs, "usr/sbin/modprobe"))).toMatch(/kmod$/);
    for (const p of ["usr/sbin/update-grub", "usr/sbin/swapoff", "usr/bin/journalctl", "usr/sbin/sysctl"]) {
      const file = path.join(rootfs, p);
      const text = await readFile(file, "utf8").catch(() => "");
      expect(text).not.toContain(STAND_IN_MARKER);
    }
    expect(await readdir(path.join(rootfs, "run"))).not.toContain("bib");
    expect(await readdir(path.join(rootfs, "lib/modules"))).toEqual([expect.stringMatching(/cloud-amd64$/)]);
  });
});
