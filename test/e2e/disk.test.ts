// The disk half of the builder on real tools: a tree becomes a GPT disk (raw, qcow2, vmdk, vhd) and
// a tarball without loop devices or mounts; a real Debian tree boots to a login prompt under QEMU.
import { existsSync } from "node:fs";
import { chown, link, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/plan/artifact.js";
import { stripEscapes } from "../../src/builder/disk/console.js";
import { diskIds } from "../../src/builder/disk/ids.js";
import { diskLayout, MiB, PARTITION_TYPE, SECTOR } from "../../src/builder/disk/layout.js";
import { bootable } from "../../src/builder/stages/bootable.js";
import { packageStep } from "../../src/builder/stages/package.js";
import { sysprep } from "../../src/builder/stages/sysprep.js";
import { validate } from "../../src/builder/stages/validate.js";
import type { StageContext } from "../../src/builder/stage.js";
import { run } from "../../src/util/exec.js";
import { debianRootfs } from "./support/debian-rootfs.js";
import { diskContext } from "./support/disk-context.js";

const GiB = 1024 * MiB;
const workspaces: string[] = [];

async function context(...args: Parameters<typeof diskContext>) {
  const ctx = await diskContext(...args);
  workspaces.push(ctx.workspace);
  return ctx;
}

afterAll(async () => {
  for (const ws of workspaces) await rm(ws, { recursive: true, force: true });
});

const rootfs = (ctx: StageContext) => path.join(ctx.workspace, "rootfs");
const readArtifacts = async (ctx: StageContext) =>
  JSON.parse(await readFile(path.join(ctx.workspace, "state", "artifacts.json"), "utf8")) as Artifact[];

/** A small tree with what packaging must preserve: owners, modes, a symlink, a hard link, a capability. */
async function smallTree(root: string): Promise<void> {
  for (const dir of ["etc", "boot", "usr/bin", "srv/data", "var/log", "tmp"]) {
    await mkdir(path.join(root, dir), { recursive: true });
  }
  await writeFile(path.join(root, "etc/hello"), "hello from the tree\n");
  await writeFile(path.join(root, "srv/data/secret"), "owned by 1234:5678\n", { mode: 0o640 });
  await chown(path.join(root, "srv/data/secret"), 1234, 5678);
  await symlink("/etc/hello", path.join(root, "srv/data/link"));
  await link(path.join(root, "etc/hello"), path.join(root, "srv/data/hardlink"));
  await writeFile(path.join(root, "usr/bin/pinger"), "#!/bin/sh\n", { mode: 0o755 });
  await run("setcap", ["cap_net_raw+ep", path.join(root, "usr/bin/pinger")]);
  // Not a real kernel: enough for the bootable step's checks; this tree is never booted.
  await writeFile(path.join(root, "boot/vmlinuz-6.1.0-99-amd64"), "kernel");
  await writeFile(path.join(root, "boot/initrd.img-6.1.0-99-amd64"), "initrd");
}

async function sha256sum(file: string): Promise<string> {
  return (await run("sha256sum", [file])).stdout.split(" ")[0]!;
}

describe("package: a small tree into every format", () => {
  const size = 1 * GiB;
  let ctx: Awaited<ReturnType<typeof diskContext>>;
  let artifacts: Artifact[];
  const file = (format: string) => artifacts.find((a) => a.format === format)!.path;

  beforeAll(async () => {
    ctx = await context("small", {
      base: { debootstrap: { suite: "bookworm" } },
      formats: ["raw", "qcow2", "vmdk", "vhd", "tgz"],
      disk: { size: "1Gi" },
    });
    await smallTree(rootfs(ctx));
    await bootable.run(ctx);
    await packageStep.run(ctx);
    artifacts = await readArtifacts(ctx);
  });

  it("writes one artifact per format under <buildName>.<ext>, with size and sha256, and no partial files", async () => {
    const dir = path.join(ctx.workspace, "artifacts");
    const name = ctx.plan.buildName;
    expect((await readdir(dir)).sort()).toEqual(
      [`${name}.qcow2`, `${name}.raw`, `${name}.tar.gz`, `${name}.vhd`, `${name}.vmdk`].sort(),
    );
    expect(artifacts.map((a) => a.format)).toEqual(["raw", "qcow2", "vmdk", "vhd", "tgz"]);
    for (const a of artifacts) {
      expect(a.path).toBe(path.join(dir, path.basename(a.path)));
      expect(a.sha256).toBe(await sha256sum(a.path));
      expect(a.size).toBe((await stat(a.path)).size);
    }
  });

  it("lays out a GPT with the ESP at 1 MiB and the root filling the disk", async () => {
    const { stdout } = await run("sfdisk", ["--json", file("raw")]);
    const table = (
      JSON.parse(stdout) as {
        partitiontable: { label: string; id: string; partitions: Array<Record<string, unknown>> };
      }
    ).partitiontable;
    const layout = diskLayout(size);
    const ids = diskIds(ctx.plan.buildId);
    expect(table.label).toBe("gpt");
    expect(table.id).toBe(ids.diskGuid);
    expect(table.partitions).toHaveLength(2);
    expect(table.partitions[0]).toMatchObject({
      start: 2048,
      size: (64 * MiB) / SECTOR,
      type: PARTITION_TYPE.esp,
    });
    expect(table.partitions[1]).toMatchObject({
      start: layout.root.offset / SECTOR,
      size: layout.root.bytes / SECTOR,
      type: PARTITION_TYPE.rootX86_64,
    });
    expect(layout.root.offset + layout.root.bytes).toBeGreaterThan(size - 2 * MiB);
  });

  it("puts the tree, owners, modes, links and capabilities into an ext4 root that fills the partition", async () => {
    const { root } = diskLayout(size);
    const image = `${file("raw")}?offset=${root.offset}`;
    const debugfs = async (request: string) => (await run("debugfs", ["-R", request, image])).stdout;
    expect(await debugfs("cat /etc/hello")).toBe("hello from the tree\n");
    const secret = await debugfs("stat /srv/data/secret");
    expect(secret).toMatch(/Mode:\s+0640/);
    expect(secret).toMatch(/User:\s+1234\s+Group:\s+5678/);
    expect(await debugfs("stat /srv/data/link")).toMatch(/Fast link dest: "\/etc\/hello"/);
    expect(await debugfs("stat /etc/hello")).toMatch(/Links: 2/);
    expect(await debugfs("ea_list /usr/bin/pinger")).toContain("security.capability");
    expect(await debugfs("cat /etc/fstab")).toContain(`UUID=${diskIds(ctx.plan.buildId).rootFsUuid} / ext4`);

    const header = (await run("dumpe2fs", ["-h", image])).stdout;
    expect(header).toMatch(/Filesystem volume name:\s+bib-root/);
    expect(header).toContain(diskIds(ctx.plan.buildId).rootFsUuid);
    const blocks = Number(/Block count:\s+(\d+)/.exec(header)?.[1]);
    expect(blocks * 4096).toBe(root.bytes);
  });

  it("puts the standalone GRUB on a FAT ESP", async () => {
    const env = { ...process.env, MTOOLS_SKIP_CHECK: "1" };
    const esp = `${file("raw")}@@${MiB}`;
    const { stdout } = await run("mdir", ["-b", "-i", esp, "::/EFI/BOOT"], { env });
    expect(stdout).toContain("::/EFI/BOOT/BOOTX64.EFI");
    const info = (await run("minfo", ["-i", esp, "::"], { env })).stdout;
    expect(info).toMatch(/disk type="FAT32/);
    expect(info).toContain(`serial number: ${diskIds(ctx.plan.buildId).espVolumeId}`);
  });

  it.each([
    ["qcow2", "qcow2"],
    ["vmdk", "vmdk"],
    ["vhd", "vpc"],
    ["raw", "raw"],
  ])("%s: qemu-img sees format %s and the disk's virtual size", async (format, qemuFormat) => {
    const { stdout } = await run("qemu-img", ["info", "--output=json", "-f", qemuFormat, file(format)]);
    const info = JSON.parse(stdout) as { format: string; "virtual-size": number };
    expect(info.format).toBe(qemuFormat);
    expect(info["virtual-size"]).toBe(size);
  });

  it("reports conversion progress up to the whole disk", () => {
    for (const task of ["convert qcow2", "convert vmdk", "convert vhd"]) {
      const events = ctx.events.filter((e) => e.task === task);
      expect(events.length).toBeGreaterThan(0);
      expect(events.at(-1)).toMatchObject({ done: size, total: size });
    }
  });

  it("tgz keeps numeric owners and modes, and the same tree gives the same bytes", async () => {
    const { stdout } = await run("tar", ["--list", "--verbose", "--numeric-owner", "--file", file("tgz")]);
    expect(stdout).toMatch(/-rw-r----- 1234\/5678 .* \.\/srv\/data\/secret/);
    expect(stdout).toMatch(/lrwxrwxrwx 0\/0 .* \.\/srv\/data\/link -> \/etc\/hello/);
    const xattrs = (
      await run("tar", ["--list", "--xattrs", "--xattrs-include=*", "-vv", "--file", file("tgz")])
    ).stdout;
    expect(xattrs).toContain("security.capability");

    const first = artifacts.find((a) => a.format === "tgz")!.sha256;
    const again = await context("small-again", {
      base: { debootstrap: { suite: "bookworm" } },
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
    });
    await rm(rootfs(again), { recursive: true });
    await run("cp", ["-a", rootfs(ctx), rootfs(again)]);
    await packageStep.run(again);
    const [second] = await readArtifacts(again);
    expect(second!.sha256).toBe(first);
  });
});

describe("package: a BIOS-only disk", () => {
  it("has a BIOS boot partition holding GRUB's core image, the MBR pointing at it, and no ESP", async () => {
    const ctx = await context("bios", {
      base: { debootstrap: { suite: "bookworm" } },
      formats: ["raw"],
      disk: { size: "1Gi", bootMode: "bios" },
    });
    await smallTree(rootfs(ctx));
    await bootable.run(ctx);
    await packageStep.run(ctx);
    const [raw] = await readArtifacts(ctx);
    const { stdout } = await run("sfdisk", ["--json", raw!.path]);
    const parts = (JSON.parse(stdout) as { partitiontable: { partitions: Array<Record<string, unknown>> } })
      .partitiontable.partitions;
    expect(parts.map((p) => p.type)).toEqual([PARTITION_TYPE.biosBoot, PARTITION_TYPE.rootX86_64]);
    expect(parts[0]).toMatchObject({ start: 2048, size: 2048 });
    expect(parts[1]).toMatchObject({ start: 4096 });

    const disk = await readFile(raw!.path);
    expect(disk.readBigUInt64LE(0x5c)).toBe(2048n);
    expect(disk.readUInt16LE(510)).toBe(0xaa55);
    const core = await readFile(path.join(ctx.workspace, "bios", "core.img"));
    const written = disk.subarray(2048 * SECTOR, 2048 * SECTOR + core.length);
    expect(written.readBigUInt64LE(500)).toBe(2049n);
    expect(written.subarray(512)).toEqual(core.subarray(512));
    const image = `${raw!.path}?offset=${4096 * SECTOR}`;
    expect((await run("debugfs", ["-R", "ls /boot/grub/i386-pc", image])).stdout).toContain("linux.mod");
    expect((await run("debugfs", ["-R", "cat /etc/fstab", image])).stdout).not.toContain("/boot/efi");
  });
});

describe("package: a tree that does not fit", () => {
  it("fails naming spec.disk.size, the tree size and the size needed, and leaves no artifact", async () => {
    const ctx = await context("too-small", {
      base: { debootstrap: { suite: "bookworm" } },
      formats: ["raw", "qcow2"],
      disk: { size: "512Mi" },
    });
    await smallTree(rootfs(ctx));
    await run("fallocate", ["-l", String(600 * MiB), path.join(rootfs(ctx), "srv/data/big")]);
    await bootable.run(ctx);
    await expect(packageStep.run(ctx)).rejects.toThrow(
      /^package: package: spec\.disk\.size 512Mi is too small for the root tree: the tree takes 60\dMi \(\d+ files\) and needs a disk of at least \d+Mi/,
    );
    expect(await readdir(path.join(ctx.workspace, "artifacts"))).toEqual([]);
    expect(existsSync(path.join(ctx.workspace, "state", "artifacts.json"))).toBe(false);
  });
});

describe("bootable and sysprep refuse trees they cannot fix", () => {
  it("bootable names a missing kernel", async () => {
    const ctx = await context("no-kernel", { base: { debootstrap: { suite: "bookworm" } } });
    await mkdir(path.join(rootfs(ctx), "boot"), { recursive: true });
    await expect(bootable.run(ctx)).rejects.toThrow(/^package: bootable: no kernel in \/boot/);
  });

  it("sysprep names a build-time stand-in left in the tree", async () => {
    const ctx = await context("stand-in", { base: { debootstrap: { suite: "bookworm" } } });
    // Where the provision stage puts the systemctl stand-in in a merged-/usr tree.
    await mkdir(path.join(rootfs(ctx), "usr/bin"), { recursive: true });
    await writeFile(path.join(rootfs(ctx), "usr/bin/systemctl"), "#!/bin/sh\n# bib-build-stand-in\n");
    await expect(sysprep.run(ctx)).rejects.toThrow(
      /^package: sysprep: build-time stand-ins are still in the image .*\/usr\/bin\/systemctl/,
    );
  });
});

describe("sysprep", () => {
  it("resets the machine id and removes host keys, caches, lists, logs, temporary files and history", async () => {
    const ctx = await context("sysprep", { base: { debootstrap: { suite: "bookworm" } } });
    const r = rootfs(ctx);
    const files: Record<string, string> = {
      "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
      "var/lib/dbus/machine-id": "0123456789abcdef0123456789abcdef\n",
      "etc/ssh/ssh_host_ed25519_key": "key",
      "etc/ssh/ssh_host_ed25519_key.pub": "pub",
      "etc/ssh/sshd_config": "kept",
      "var/cache/apt/pkgcache.bin": "x",
      "var/cache/apt/archives/curl_8.0_amd64.deb": "x",
      "var/lib/apt/lists/deb.example_debian_dists_bookworm_InRelease": "x",
      "var/lib/apt/lists/lock": "",
      "var/log/apt/history.log": "x",
      "var/log/dpkg.log": "x",
      "tmp/build-junk": "x",
      "var/tmp/more-junk": "x",
      "root/.bash_history": "secret commands",
      "home/alice/.bash_history": "more",
      "home/alice/notes": "kept",
      "usr/local/bin/tool": "#!/bin/sh\necho a real tool\n",
      // What debootstrap copies from the build machine.
      "etc/hostname": `${os.hostname()}\n`,
      "etc/resolv.conf": await readFile("/etc/resolv.conf", "utf8"),
    };
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(r, name)), { recursive: true });
      await writeFile(path.join(r, name), content);
    }
    await sysprep.run(ctx);
    expect(await readFile(path.join(r, "etc/machine-id"), "utf8")).toBe("");
    expect(await readFile(path.join(r, "etc/hostname"), "utf8")).toBe("localhost\n");
    expect(await readFile(path.join(r, "etc/resolv.conf"), "utf8")).toBe("");
    const kept = ["etc/ssh/sshd_config", "var/lib/apt/lists/lock", "home/alice/notes", "usr/local/bin/tool"];
    for (const name of Object.keys(files)) {
      if (["etc/machine-id", "etc/hostname", "etc/resolv.conf"].includes(name)) continue;
      expect({ name, exists: existsSync(path.join(r, name)) }).toEqual({ name, exists: kept.includes(name) });
    }
    for (const dir of ["tmp", "var/tmp", "var/log/apt"]) expect(await readdir(path.join(r, dir))).toEqual([]);
  });
});

describe("a real Debian tree on a hybrid disk boots with UEFI and with BIOS", () => {
  let ctx: Awaited<ReturnType<typeof diskContext>>;

  beforeAll(async () => {
    const tree = await debianRootfs({
      suite: "bookworm",
      variant: "minbase",
      include: ["systemd-sysv", "linux-image-cloud-amd64", "udev"],
    });
    ctx = await context("boot", {
      base: { debootstrap: { suite: "bookworm" } },
      formats: ["qcow2"],
      disk: { size: "2Gi", bootMode: "hybrid" },
      kernel: { cmdline: ["bib.test=1"] },
      validate: { boot: { timeoutSeconds: 600 } },
    });
    await rm(rootfs(ctx), { recursive: true });
    await run("cp", ["-a", tree, rootfs(ctx)]);
    for (const step of [bootable, sysprep, packageStep]) await step.run(ctx);
  });

  it("to a login prompt on the serial console (bootable -> sysprep -> package -> validate)", async () => {
    await validate.run(ctx);
    for (const [file, firmwareLine] of [
      ["console.log", /BdsDxe|EFI/],
      ["console-seabios.log", /GNU GRUB/],
    ] as const) {
      const log = await readFile(path.join(ctx.workspace, "state", file), "utf8");
      expect(log).toContain("login:");
      expect(log).toContain("bib.test=1");
      expect(log).toMatch(firmwareLine);
    }
    expect(existsSync(path.join(ctx.workspace, "state", "validate"))).toBe(false);
  });

  it("and an aborted build stops QEMU", async () => {
    const controller = new AbortController();
    ctx.signal = controller.signal;
    ctx.plan.disk.bootMode = "uefi";
    setTimeout(() => controller.abort(new Error("build cancelled")), 5000);
    const started = Date.now();
    await expect(validate.run(ctx)).rejects.toThrow(/^validate: boot: aborted/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const disk = (await readArtifacts(ctx))[0]!.path;
    let running = true;
    for (let i = 0; i < 50 && running; i++) {
      running = (await run("ps", ["-eo", "args"])).stdout.includes(disk);
      if (running) await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBe(false);
    ctx.signal = new AbortController().signal;
  });

  it("and a pattern that never appears fails with the console's last lines", async () => {
    ctx.plan.validate.boot = {
      enabled: true,
      timeoutSeconds: 30,
      expect: ["login:", "this never appears"],
      checks: [],
    };
    ctx.plan.disk.bootMode = "uefi";
    const error = await validate.run(ctx).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /^validate: boot: timed out after 30s before the console showed .*"this never appears"/,
    );
    const lines = error!.message.split("last console lines:\n")[1]!.split("\n");
    const log = await readFile(path.join(ctx.workspace, "state", "console.log"), "utf8");
    const logLines = stripEscapes(log)
      .split("\n")
      .map((l) => l.trimEnd())
      .filter((l) => l !== "");
    // The message holds a contiguous run of the console's lines: the last 20, or all of them when a
    // slow machine printed fewer in 30 s (so this does not depend on how far the boot got).
    const starts = logLines
      .map((_, i) => i)
      .filter((i) => logLines.slice(i, i + lines.length).join("\n") === lines.join("\n"));
    expect(starts.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(lines.length === 20 || starts[0] === 0).toBe(true);
  });
});

describe("sysprep keeps what the user chose", () => {
  it("leaves a hostname and resolver that are not the build machine's", async () => {
    const ctx = await context("sysprep-user", { base: { debootstrap: { suite: "bookworm" } } });
    const r = rootfs(ctx);
    await mkdir(path.join(r, "etc"), { recursive: true });
    await writeFile(path.join(r, "etc/hostname"), "web-golden\n");
    await writeFile(path.join(r, "etc/resolv.conf"), "nameserver 192.0.2.53\n");
    await sysprep.run(ctx);
    expect(await readFile(path.join(r, "etc/hostname"), "utf8")).toBe("web-golden\n");
    expect(await readFile(path.join(r, "etc/resolv.conf"), "utf8")).toBe("nameserver 192.0.2.53\n");
  });
});
