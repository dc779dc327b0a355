// Step `bootable`: makes the provisioned tree bootable on the disk that `package` assembles.
// The kernel stays the tree's own; this step points stable names at it, writes fstab and builds the
// UEFI bootloader (a standalone GRUB with its configuration inside) into the ESP's tree.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { run } from "../../util/exec.js";
import { pickKernel, renderFstab, renderGrubCfg, renderKernelImgConf } from "../disk/boot-config.js";
import { espDir } from "../disk/formats.js";
import { diskIds } from "../disk/ids.js";
import { inTree, readTreeFile, replaceFile, replaceSymlink } from "../disk/tree-files.js";
import { workspacePaths, type StageContext, type Step } from "../stage.js";

export { kernelPackages, needsKernel } from "../disk/boot-config.js";

const fail = (what: string, cause?: unknown) =>
  new Error(`package: bootable: ${what}`, cause === undefined ? undefined : { cause });

async function linkKernel(rootfs: string): Promise<string> {
  const boot = inTree(rootfs, "/boot");
  const listing = await readdir(boot).catch(() => [] as string[]);
  const choice = pickKernel(listing);
  if (!choice.ok) throw fail(choice.reason);
  // Relative targets, so the links resolve both inside the running machine and inside the tree.
  await replaceSymlink(path.join(boot, "vmlinuz"), choice.kernel);
  await replaceSymlink(path.join(boot, "initrd.img"), choice.initrd);
  const conf = inTree(rootfs, "/etc/kernel-img.conf");
  await replaceFile(conf, renderKernelImgConf(await readTreeFile(conf)));
  return choice.version;
}

async function buildGrubEfi(output: string, grubCfg: string, signal: AbortSignal): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), "bib-grub-"));
  try {
    const cfg = path.join(scratch, "grub.cfg");
    await writeFile(cfg, grubCfg);
    await mkdir(path.dirname(output), { recursive: true });
    await run(
      "grub-mkstandalone",
      [
        "--format=x86_64-efi",
        `--output=${output}`,
        "--locales=",
        "--fonts=",
        "--themes=",
        "--modules=part_gpt part_msdos ext2 xfs fat search_fs_uuid",
        `boot/grub/grub.cfg=${cfg}`,
      ],
      { signal },
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export const bootable: Step = {
  name: "bootable",
  stage: "package",
  async run(ctx: StageContext): Promise<void> {
    const { plan } = ctx;
    if (plan.disk.bootMode !== "uefi") {
      throw fail(`spec.disk.bootMode ${plan.disk.bootMode} is not supported; only uefi is`);
    }
    const { rootfs, state } = workspacePaths(ctx.workspace);
    const ids = diskIds(plan.buildId);
    const version = await linkKernel(rootfs);
    await replaceFile(inTree(rootfs, "/etc/fstab"), renderFstab(ids, plan.disk.filesystem));
    await mkdir(inTree(rootfs, "/boot/efi"), { recursive: true });

    const esp = espDir(ctx.workspace);
    await rm(esp, { recursive: true, force: true });
    try {
      await buildGrubEfi(
        path.join(esp, "EFI", "BOOT", "BOOTX64.EFI"),
        renderGrubCfg(ids.rootFsUuid, plan.kernel.cmdline),
        ctx.signal,
      );
    } catch (error) {
      await rm(esp, { recursive: true, force: true });
      throw fail(`grub-mkstandalone failed: ${(error as Error).message}`, error);
    }
    await mkdir(state, { recursive: true });
    await writeFile(
      path.join(state, "bootable.json"),
      `${JSON.stringify({ bootMode: "uefi", kernelVersion: version, rootFsUuid: ids.rootFsUuid })}\n`,
    );
    ctx.log.info(
      { kernelVersion: version, bootMode: "uefi" },
      "bootable: kernel linked, fstab and GRUB written",
    );
  },
};
