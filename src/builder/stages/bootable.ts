// Step `bootable`: makes the provisioned tree bootable on the disk that `package` assembles.
// The kernel stays the tree's own; this step points stable names at it, writes fstab and builds
// the bootloaders for plan.disk.bootMode: for UEFI a standalone GRUB with its configuration inside
// (the ESP's tree), for BIOS GRUB's boot.img and core.img plus /boot/grub in the tree.
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { run } from "../../util/exec.js";
import {
  pickKernel,
  renderFstab,
  renderGrubCfg,
  renderGrubEarlyCfg,
  renderKernelImgConf,
} from "../disk/boot-config.js";
import { bootFiles } from "../../plan/formats.js";
import { biosDir, espDir } from "../disk/formats.js";
import { grubDefaultsFileOrder, parseGrubDefaults, type GrubDefaults } from "../disk/grub-defaults.js";
import { diskIds } from "../disk/ids.js";
import { inTree, lstatOrUndefined, readTreeFile, replaceFile, replaceSymlink } from "../disk/tree-files.js";
import { StepError, workspacePaths, type StageContext, type Step } from "../stage.js";

const GRUB_PC_DIR = "/usr/lib/grub/i386-pc";
/** What GRUB's BIOS core image needs to find /boot/grub on the root filesystem and print errors. */
const GRUB_PC_CORE_MODULES = [
  "biosdisk",
  "part_gpt",
  "ext2",
  "search",
  "search_fs_uuid",
  "normal",
  "serial",
  "terminal",
];

const fail = (what: string, cause?: unknown) =>
  new StepError("package", "bootable", what, cause === undefined ? undefined : { cause });

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

/** GRUB_CMDLINE_LINUX(_DEFAULT) and GRUB_TIMEOUT from the image's /etc/default/grub(.d). */
async function imageGrubDefaults(rootfs: string): Promise<GrubDefaults> {
  const listing = await readdir(inTree(rootfs, "/etc/default/grub.d")).catch(() => [] as string[]);
  const files = [];
  for (const name of grubDefaultsFileOrder(listing)) {
    const file = inTree(rootfs, name);
    if (!(await lstatOrUndefined(file))?.isFile()) continue;
    files.push({ name, text: await readTreeFile(file) });
  }
  const parsed = parseGrubDefaults(files);
  if (!parsed.ok) throw fail(parsed.error);
  return parsed.value;
}

async function withScratch<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(path.join(tmpdir(), "bib-grub-"));
  try {
    return await work(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function buildGrubEfi(output: string, grubCfg: string, signal: AbortSignal): Promise<void> {
  await withScratch(async (scratch) => {
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
  });
}

/** core.img and boot.img for `package`; GRUB's modules and grub.cfg into the tree's /boot/grub. */
async function buildGrubPc(
  rootfs: string,
  out: string,
  rootFsUuid: string,
  grubCfg: string,
  signal: AbortSignal,
) {
  const modules = inTree(rootfs, "/boot/grub/i386-pc");
  await rm(modules, { recursive: true, force: true });
  await mkdir(modules, { recursive: true });
  for (const name of await readdir(GRUB_PC_DIR)) {
    if (/\.(mod|lst)$/.test(name)) await copyFile(path.join(GRUB_PC_DIR, name), path.join(modules, name));
  }
  await replaceFile(inTree(rootfs, "/boot/grub/grub.cfg"), grubCfg);
  await mkdir(out, { recursive: true });
  await copyFile(path.join(GRUB_PC_DIR, "boot.img"), path.join(out, "boot.img"));
  await withScratch(async (scratch) => {
    const early = path.join(scratch, "early.cfg");
    await writeFile(early, renderGrubEarlyCfg(rootFsUuid));
    const args = ["-O", "i386-pc", "-o", path.join(out, "core.img"), "-c", early, "-p", "/boot/grub"];
    await run("grub-mkimage", [...args, ...GRUB_PC_CORE_MODULES], { signal });
  });
}

export const bootable: Step = {
  name: "bootable",
  stage: "package",
  async run(ctx: StageContext): Promise<void> {
    const { plan } = ctx;
    const mode = plan.disk.bootMode;
    const needs = bootFiles(mode);
    const { rootfs, state } = workspacePaths(ctx.workspace);
    const ids = diskIds(plan.buildId);
    const version = await linkKernel(rootfs);
    await replaceFile(inTree(rootfs, "/etc/fstab"), renderFstab(ids, plan.disk.filesystem, needs.esp));
    // As grub-mkconfig would: the image's own parameters, then the spec's.
    const grub = await imageGrubDefaults(rootfs);
    const cmdline = [...grub.cmdline, ...plan.kernel.cmdline];
    const grubCfg = renderGrubCfg(ids.rootFsUuid, cmdline, grub.timeout);

    const esp = espDir(ctx.workspace);
    const bios = biosDir(ctx.workspace);
    await rm(esp, { recursive: true, force: true });
    await rm(bios, { recursive: true, force: true });
    try {
      if (needs.esp) {
        await mkdir(inTree(rootfs, "/boot/efi"), { recursive: true });
        await buildGrubEfi(path.join(esp, "EFI", "BOOT", "BOOTX64.EFI"), grubCfg, ctx.signal);
      }
      if (needs.bios) await buildGrubPc(rootfs, bios, ids.rootFsUuid, grubCfg, ctx.signal);
    } catch (error) {
      await rm(esp, { recursive: true, force: true });
      await rm(bios, { recursive: true, force: true });
      throw fail(`building GRUB failed: ${(error as Error).message}`, error);
    }
    await mkdir(state, { recursive: true });
    await writeFile(
      path.join(state, "bootable.json"),
      `${JSON.stringify({ bootMode: mode, kernelVersion: version, rootFsUuid: ids.rootFsUuid })}\n`,
    );
    ctx.log.info(
      { kernelVersion: version, bootMode: mode, cmdline },
      "bootable: kernel linked, fstab and GRUB written",
    );
  },
};
