import { describe, expect, it } from "vitest";
import {
  compareKernelVersions,
  kernelCmdline,
  needsKernel,
  pickKernel,
  renderFstab,
  renderGrubCfg,
  renderGrubEarlyCfg,
  renderKernelImgConf,
} from "../../src/builder/disk/boot-config.js";
import { diskIds, fatUuid } from "../../src/builder/disk/ids.js";

describe("kernel in /boot", () => {
  it.each([
    { listing: [], needs: true },
    { listing: ["grub", "efi"], needs: true },
    { listing: ["vmlinuz", "initrd.img"], needs: true },
    { listing: ["vmlinuz-6.1.0-28-cloud-amd64", "initrd.img-6.1.0-28-cloud-amd64"], needs: false },
  ])("needsKernel($listing) is $needs", ({ listing, needs }) => {
    expect(needsKernel(listing)).toBe(needs);
  });

  it("compares versions numerically", () => {
    expect(compareKernelVersions("6.1.0-9-amd64", "6.1.0-28-amd64")).toBeLessThan(0);
    expect(compareKernelVersions("6.10.0-1-amd64", "6.9.0-1-amd64")).toBeGreaterThan(0);
    expect(compareKernelVersions("6.1.0-28-amd64", "6.1.0-28-amd64")).toBe(0);
  });

  it("picks the newest kernel and its initramfs", () => {
    const listing = [
      "vmlinuz-6.1.0-9-cloud-amd64",
      "initrd.img-6.1.0-9-cloud-amd64",
      "vmlinuz-6.1.0-28-cloud-amd64",
      "initrd.img-6.1.0-28-cloud-amd64",
      "vmlinuz",
    ];
    expect(pickKernel(listing)).toEqual({
      ok: true,
      version: "6.1.0-28-cloud-amd64",
      kernel: "vmlinuz-6.1.0-28-cloud-amd64",
      initrd: "initrd.img-6.1.0-28-cloud-amd64",
    });
  });

  it("explains a missing kernel or initramfs", () => {
    expect(pickKernel(["config-6.1"])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no kernel in \/boot/),
    });
    expect(pickKernel(["vmlinuz-6.1.0-28-amd64"])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/has no \/boot\/initrd\.img-6\.1\.0-28-amd64; install initramfs-tools/),
    });
  });
});

describe("boot configuration text", () => {
  const ids = diskIds("fixed");

  it("fstab mounts root and the ESP by filesystem UUID", () => {
    const lines = renderFstab(ids, "ext4").split("\n");
    expect(lines).toContain(`UUID=${ids.rootFsUuid} / ext4 defaults,errors=remount-ro 0 1`);
    expect(lines).toContain(`UUID=${fatUuid(ids.espVolumeId)} /boot/efi vfat umask=0077,nofail 0 2`);
  });

  it("fstab has no ESP line for a BIOS-only disk", () => {
    expect(renderFstab(ids, "ext4", false)).not.toContain("/boot/efi");
  });

  it("GRUB's BIOS core config finds the root by UUID and takes /boot/grub there as its prefix", () => {
    expect(renderGrubEarlyCfg("u-u-i-d").split("\n")).toEqual(
      expect.arrayContaining([
        "search --no-floppy --fs-uuid --set=root u-u-i-d",
        "set prefix=($root)/boot/grub",
      ]),
    );
  });

  it("the kernel command line has the serial console last, then the user's arguments", () => {
    expect(kernelCmdline("u-u-i-d", ["quiet", "net.ifnames=0"])).toBe(
      "root=UUID=u-u-i-d ro console=tty0 console=ttyS0,115200n8 quiet net.ifnames=0",
    );
  });

  it("grub.cfg finds root by UUID and boots the stable kernel links", () => {
    const cfg = renderGrubCfg(ids.rootFsUuid, ["quiet"]);
    expect(cfg).toContain(`search --no-floppy --fs-uuid --set=root ${ids.rootFsUuid}`);
    expect(cfg).toContain(
      `linux /boot/vmlinuz root=UUID=${ids.rootFsUuid} ro console=tty0 console=ttyS0,115200n8 quiet`,
    );
    expect(cfg).toContain("initrd /boot/initrd.img");
    expect(cfg).toContain("serial --unit=0 --speed=115200");
  });

  it.each([
    { existing: "", expected: "do_symlinks = yes\nlink_in_boot = yes\n" },
    {
      existing: "# Kernel image management overrides\ndo_symlinks = yes\ndo_bootloader = no\n",
      expected:
        "# Kernel image management overrides\ndo_symlinks = yes\ndo_bootloader = no\nlink_in_boot = yes\n",
    },
    { existing: "link_in_boot = no\ndo_symlinks=no\n", expected: "link_in_boot = yes\ndo_symlinks = yes\n" },
  ])("kernel-img.conf keeps the kernel links in /boot (%#)", ({ existing, expected }) => {
    expect(renderKernelImgConf(existing)).toBe(expected);
  });
});
