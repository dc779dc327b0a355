import { describe, expect, it } from "vitest";
import { imageBuildSpecSchema } from "../../src/api/schema.js";
import { ConsoleWatcher, stripEscapes } from "../../src/builder/disk/console.js";
import { artifactFileName, convertOptions, partialFileName } from "../../src/builder/disk/formats.js";
import { lastPercent } from "../../src/builder/disk/progress.js";
import { firmwaresFor, qemuBootArgs } from "../../src/builder/disk/qemu-boot.js";
import { componentMatches } from "../../src/builder/disk/sysprep-paths.js";
import { tarArgs } from "../../src/builder/disk/tarball.js";

describe("artifact names", () => {
  it.each([
    ["qcow2", "web-1a2b3c.qcow2"],
    ["raw", "web-1a2b3c.raw"],
    ["vmdk", "web-1a2b3c.vmdk"],
    ["vhd", "web-1a2b3c.vhd"],
    ["tgz", "web-1a2b3c.tar.gz"],
  ] as const)("%s -> %s, written first under a hidden partial name", (format, name) => {
    expect(artifactFileName("web-1a2b3c", format)).toBe(name);
    expect(partialFileName("web-1a2b3c", format)).toBe(`.${name}.partial`);
  });

  it("vhd is the fixed subformat with the exact size (Azure)", () => {
    expect(convertOptions("vhd")).toEqual(["-O", "vpc", "-o", "subformat=fixed,force_size=on"]);
    expect(convertOptions("qcow2")).toEqual(["-O", "qcow2"]);
  });
});

describe("qemu-img progress", () => {
  it.each([
    ["    (0.00/100%)\r", 0],
    ["    (12.50/100%)\r    (37.01/100%)\r", 37.01],
    ["    (100.00/100%)\n", 100],
    ["no progress here", undefined],
  ])("%j -> %s", (chunk, percent) => {
    expect(lastPercent(chunk)).toBe(percent);
  });
});

describe("ConsoleWatcher", () => {
  it("is done only when every pattern appeared, even split across chunks and escape codes", () => {
    const watcher = new ConsoleWatcher(["login:", "Reached target"]);
    watcher.feed("[  OK  ] Reached tar");
    expect(watcher.done).toBe(false);
    watcher.feed("get multi-user.target\r\nvm lo\u001b[0m");
    expect(watcher.missing()).toEqual(["login:"]);
    watcher.feed("gin: ");
    expect(watcher.done).toBe(true);
  });

  it("keeps the last lines without escape codes for error messages", () => {
    const watcher = new ConsoleWatcher(["never"]);
    watcher.feed(Array.from({ length: 30 }, (_, i) => `\u001b[1mline ${i}\u001b[0m\r\n`).join(""));
    const last = watcher.lastLines(20).split("\n");
    expect(last).toHaveLength(20);
    expect(last[0]).toBe("line 10");
    expect(last[19]).toBe("line 29");
    expect(stripEscapes("\u001b[2J\u001b[01;01Hok\r\n")).toBe("ok\n");
  });
});

describe("QEMU command line", () => {
  it("boots UEFI from a snapshot of the disk, serial on stdio, no network", () => {
    const args = qemuBootArgs({
      disk: "/a/x.qcow2",
      format: "qcow2",
      firmware: "ovmf",
      vars: "/s/vars.fd",
      accel: "tcg",
    });
    expect(args).toContain("file=/a/x.qcow2,format=qcow2,if=virtio,snapshot=on");
    expect(args.join(" ")).toContain("-accel tcg");
    expect(args.join(" ")).toContain("-serial stdio");
    expect(args.join(" ")).toContain("-nic none");
    expect(args).toContain("if=pflash,format=raw,unit=1,file=/s/vars.fd");
    expect(args).not.toContain("host");
  });

  it("gives a VM a NIC and its own disk only when asked (the Packer-flow bench)", () => {
    const args = qemuBootArgs({
      disk: "/a/vm.qcow2",
      format: "qcow2",
      firmware: "ovmf",
      vars: "/s/vars.fd",
      accel: "tcg",
      nic: "user,hostfwd=tcp:127.0.0.1:2222-:22",
      writable: true,
    });
    expect(args).toContain("file=/a/vm.qcow2,format=qcow2,if=virtio,snapshot=off");
    expect(args.join(" ")).toContain("-nic user,hostfwd=tcp:127.0.0.1:2222-:22");
    expect(args.join(" ")).not.toContain("-nic none");
  });
});

describe("tar options", () => {
  it("are reproducible: sorted, numeric owners, clamped mtime, no atime/ctime, igzip -n to stdout", () => {
    const args = tarArgs("/ws/rootfs", 1700000000, 2);
    for (const a of [
      "--sort=name",
      "--numeric-owner",
      "--xattrs",
      "--acls",
      "--mtime=@1700000000",
      "--clamp-mtime",
      "--use-compress-program=igzip -3 -n -T 2",
      "--file=-",
    ]) {
      expect(args).toContain(a);
    }
    expect(args.find((a) => a.startsWith("--pax-option"))).toContain("delete=atime,delete=ctime");
  });
});

describe("sysprep globs", () => {
  it.each([
    ["ssh_host_*", "ssh_host_ed25519_key", true],
    ["ssh_host_*", "sshd_config", false],
    ["*_*", "mirror.example_debian_dists_bookworm_InRelease", true],
    ["*_*", "lock", false],
    ["*.deb", "a.deb", true],
    ["*.deb", "a.debx", false],
  ])("%s matches %s: %s", (pattern, name, matches) => {
    expect(componentMatches(pattern, name)).toBe(matches);
  });
});

describe("disk options the builder supports", () => {
  const spec = { base: { debootstrap: { suite: "bookworm" } } };
  it.each(["uefi", "bios", "hybrid"])("accepts bootMode %s with ext4", (bootMode) => {
    expect(imageBuildSpecSchema.safeParse({ ...spec, disk: { bootMode, filesystem: "ext4" } }).success).toBe(
      true,
    );
  });
  it("rejects xfs at spec.disk.filesystem", () => {
    const result = imageBuildSpecSchema.safeParse({ ...spec, disk: { filesystem: "xfs" } });
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((i) => i.path.join(".") === "disk.filesystem");
    expect(issue?.message).toMatch(/filesystem xfs is not supported yet; supported: ext4/);
  });
});

describe("firmware per boot mode", () => {
  it.each([
    ["uefi", ["ovmf"]],
    ["bios", ["seabios"]],
    ["hybrid", ["ovmf", "seabios"]],
  ] as const)("%s boots with %j", (mode, firmwares) => {
    expect(firmwaresFor(mode)).toEqual(firmwares);
  });

  it("SeaBIOS needs no pflash drives", () => {
    const args = qemuBootArgs({ disk: "/a/x.raw", format: "raw", firmware: "seabios", accel: "tcg" });
    expect(args.some((a) => a.includes("pflash"))).toBe(false);
  });
});
