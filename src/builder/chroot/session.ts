// A prepared image root for provisioners: kernel filesystems, a minimal /dev, /run, the host's DNS
// settings, the shared apt cache and the build-time stand-ins. Everything set up here is undone by
// `close`, which is safe to call more than once and after a partial `open`.
import { copyFile, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathExists } from "../../util/fs.js";
import { run, type RunOptions, type RunResult } from "../../util/exec.js";
import { currentMountsUnder } from "./mountinfo.js";
import { compareKernelVersions } from "../disk/boot-config.js";
import { BIB_RUN, PROC_MODULES_VIEW } from "./booted-standins.js";
import { MountTable, unmountEverythingUnder } from "./mounts.js";
import { buildHostname, meminfoWithoutSwap, PROC_SWAPS_EMPTY } from "./proc-view.js";
import { installStandIn, ORIGINAL_SUFFIX, removeStandIn, standInsFor, type StandIn } from "./standins.js";

/** Device nodes bind-mounted from the host: binding needs no CAP_MKNOD and no device cgroup rule. */
export const DEV_NODES = ["null", "zero", "full", "random", "urandom", "tty"] as const;

const DEV_LINKS: Array<[string, string]> = [
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
  ["ptmx", "pts/ptmx"],
];

export const CHROOT_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  DEBIAN_FRONTEND: "noninteractive",
  DEBCONF_NONINTERACTIVE_SEEN: "true",
};

const RESOLV = "etc/resolv.conf";
/** Where the kernel's proc is mounted when /proc is a directory of links (see setupProcView). */
const PROC_ASIDE = "run/bib/kernel-proc";

/**
 * Fixed text run by the host's /bin/sh inside the build's own UTS namespace: names it (the kernel
 * keeps one hostname per UTS namespace), then runs the command. Arguments: hostname, command....
 */
const IN_BUILD_NAMESPACE = 'printf %s "$1" > /proc/sys/kernel/hostname; shift; exec "$@"';

export interface ChrootOptions {
  /** Host directory shared across builds for downloaded .deb files. */
  aptCacheDir?: string;
  signal?: AbortSignal;
}

/**
 * A tmpfs at `<rootfs>/dev` with the host's nodes bound into it, a private devpts and a /dev/shm:
 * no CAP_MKNOD, and usable when the workspace is mounted `nodev` (nodes made there cannot be opened).
 */
export async function mountMinimalDev(mounts: MountTable, rootfs: string): Promise<void> {
  const dev = path.join(rootfs, "dev");
  const at = async (relative: string, args: string[]) => {
    const target = path.join(rootfs, relative);
    await mkdir(target, { recursive: true });
    await mounts.mount({ target, args });
  };
  await at("dev", ["-t", "tmpfs", "-o", "mode=0755,nosuid,size=1m", "tmpfs"]);
  for (const node of DEV_NODES) {
    const target = path.join(dev, node);
    await writeFile(target, "");
    await mounts.mount({ target, args: ["--bind", `/dev/${node}`] });
  }
  for (const [name, to] of DEV_LINKS) await symlink(to, path.join(dev, name));
  await at("dev/pts", ["-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620", "devpts"]);
  await at("dev/shm", ["-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs"]);
}

export class ChrootSession {
  private readonly mounts = new MountTable();
  private standIns: StandIn[] = [];
  private resolvSaved: "moved" | "absent" | undefined;
  private opened = false;
  private hostname = "localhost";
  private releaseLink: string | undefined;

  constructor(
    readonly rootfs: string,
    private readonly options: ChrootOptions = {},
  ) {}

  async open(): Promise<void> {
    this.opened = true;
    const r = this.rootfs;
    await this.mountAt("sys", ["-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs"]);
    await this.setupDev();
    await this.mountAt("run", ["-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs"]);
    await mkdir(path.join(r, "run/lock"), { recursive: true, mode: 0o1777 });
    // systemd's "booted" mark: Ansible picks its systemd service manager and hostname strategy (which
    // the stand-ins answer); systemctl itself still sees the chroot and works offline.
    await mkdir(path.join(r, "run/systemd/system"), { recursive: true, mode: 0o755 });
    await this.setupResolvConf();
    await this.setupProcView();
    if (this.options.aptCacheDir && (await pathExists(path.join(r, "var/cache/apt")))) {
      const cache = this.options.aptCacheDir;
      await mkdir(path.join(cache, "partial"), { recursive: true });
      await this.mountAt("var/cache/apt/archives", ["--bind", cache]);
    }
    await this.ensureStandIns();
  }

  /** (Re)installs stand-ins; call again after installing packages, which may replace them. */
  async ensureStandIns(): Promise<void> {
    this.standIns = await standInsFor(this.rootfs);
    for (const s of this.standIns) await installStandIn(this.rootfs, s);
    await this.linkHostRelease();
  }

  /**
   * Programs find "the running kernel's" modules at /lib/modules/$(uname -r), and uname answers
   * the build host's release (Ansible's modprobe module reads modules.builtin there). While the
   * chroot is open that name points at the image's newest kernel; `close` removes the link.
   */
  private async linkHostRelease(): Promise<void> {
    const modules = path.join(this.rootfs, "lib/modules");
    const link = path.join(modules, os.release());
    if (this.releaseLink || (await pathExists(link))) return;
    const versions = (await readdir(modules).catch(() => [] as string[])).sort(compareKernelVersions);
    const newest = versions[versions.length - 1];
    if (newest === undefined) return;
    await symlink(newest, link);
    this.releaseLink = link;
  }

  /**
   * The command line that runs `command` in the build's own mount and UTS namespaces: a mount or
   * hostname a playbook sets stays there, the build host's are never touched.
   */
  inBuildNamespace(command: readonly string[]): string[] {
    return [
      "unshare",
      "--mount",
      "--uts",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      IN_BUILD_NAMESPACE,
      "bib-build",
      this.hostname,
      ...command,
    ];
  }

  /** Runs a program inside the image root with a clean environment (no host variables leak in). */
  exec(
    args: readonly string[],
    options: Omit<RunOptions, "env"> & { env?: Record<string, string> } = {},
  ): Promise<RunResult> {
    const [cmd, ...rest] = this.inBuildNamespace(["chroot", this.rootfs, ...args]);
    return run(cmd!, rest, {
      ...options,
      processGroup: true,
      signal: options.signal ?? this.options.signal,
      env: { ...CHROOT_ENV, ...options.env },
    });
  }

  private async mountAt(relative: string, args: string[]): Promise<void> {
    const target = path.join(this.rootfs, relative);
    await mkdir(target, { recursive: true });
    await this.mounts.mount({ target, args });
  }

  private async setupDev(): Promise<void> {
    await mountMinimalDev(this.mounts, this.rootfs);
  }

  /**
   * The chroot's /proc as a freshly booted image shows it: the modules the build loaded (none yet;
   * the modprobe stand-in adds them), no swap; /proc/sys read-only, so that nothing written there
   * reaches the build host's kernel. The views live on the chroot's /run and go with it.
   */
  private async setupProcView(): Promise<void> {
    const r = this.rootfs;
    const views: Record<string, string> = {
      modules: PROC_MODULES_VIEW,
      meminfo: `${BIB_RUN}/proc-meminfo`,
      swaps: `${BIB_RUN}/proc-swaps`,
    };
    await mkdir(path.join(r, BIB_RUN), { recursive: true, mode: 0o755 });
    await writeFile(path.join(r, views.modules!), "");
    await writeFile(
      path.join(r, views.meminfo!),
      meminfoWithoutSwap(await readFile("/proc/meminfo", "utf8")),
    );
    await writeFile(path.join(r, views.swaps!), PROC_SWAPS_EMPTY);
    const procOptions = ["-t", "proc", "-o", "nosuid,nodev,noexec", "proc"];
    if (await pathExists("/proc/modules")) {
      await this.mountAt("proc", procOptions);
      for (const [name, view] of Object.entries(views)) {
        await this.mounts.mount({ target: path.join(r, "proc", name), args: ["--bind", path.join(r, view)] });
      }
      await this.mountReadOnlyBind("proc/sys");
    } else {
      // A kernel without module support has no /proc/modules to bind over, and procfs takes no new
      // files: /proc becomes a directory of links into a proc mounted aside, with the views beside.
      await this.mountAt(PROC_ASIDE, procOptions);
      await this.mountReadOnlyBind(`${PROC_ASIDE}/sys`);
      await this.mountAt("proc", ["-t", "tmpfs", "-o", "mode=0555,nosuid,nodev,noexec", "tmpfs"]);
      for (const name of await readdir(path.join(r, PROC_ASIDE))) {
        if (!(name in views)) await symlink(`/${PROC_ASIDE}/${name}`, path.join(r, "proc", name));
      }
      for (const [name, view] of Object.entries(views)) await symlink(view, path.join(r, "proc", name));
    }
    const imageHostname = await readFile(path.join(r, "etc/hostname"), "utf8").catch(() => undefined);
    this.hostname = buildHostname(imageHostname, os.hostname());
  }

  private async mountReadOnlyBind(relative: string): Promise<void> {
    const target = path.join(this.rootfs, relative);
    await this.mounts.mount({ target, args: ["--bind", target] });
    await run("mount", ["-o", "remount,bind,ro", target]);
  }

  /** The image's resolv.conf (often a symlink into /run) is set aside, the host's copied in. */
  private async setupResolvConf(): Promise<void> {
    const target = path.join(this.rootfs, RESOLV);
    if (!(await pathExists(path.dirname(target)))) return;
    if (await pathExists(target)) {
      await rename(target, target + ORIGINAL_SUFFIX);
      this.resolvSaved = "moved";
    } else {
      this.resolvSaved = "absent";
    }
    await copyFile("/etc/resolv.conf", target).catch(() => writeFile(target, ""));
  }

  private async restoreResolvConf(): Promise<void> {
    if (!this.resolvSaved) return;
    const target = path.join(this.rootfs, RESOLV);
    await rm(target, { force: true });
    if (this.resolvSaved === "moved") await rename(target + ORIGINAL_SUFFIX, target);
    this.resolvSaved = undefined;
  }

  /**
   * Undoes `open`: stand-ins out (originals back), resolv.conf restored, mounts undone newest
   * first. Then the kernel's mount table is checked; anything still mounted under the root is an
   * error, because packaging it would copy the host's /proc or /dev into the image.
   */
  async close(): Promise<void> {
    if (!this.opened) return;
    const errors: unknown[] = [];
    for (const s of [...this.standIns].reverse()) {
      await removeStandIn(this.rootfs, s).catch((e: unknown) => errors.push(e));
    }
    this.standIns = [];
    if (this.releaseLink) await rm(this.releaseLink, { force: true }).catch((e: unknown) => errors.push(e));
    this.releaseLink = undefined;
    await this.restoreResolvConf().catch((e: unknown) => errors.push(e));
    // A failed umount (busy) is retried by the sweep; only what the kernel still shows is an error.
    await this.mounts.unmountAll();
    let left = await currentMountsUnder(this.rootfs);
    if (left.length > 0) left = await unmountEverythingUnder(this.rootfs);
    this.opened = false;
    if (left.length > 0) throw new Error(`still mounted after teardown: ${left.join(", ")}`);
    if (errors.length > 0) {
      throw new Error(`chroot teardown: ${errors.map((e) => (e as Error).message).join("; ")}`);
    }
  }
}
