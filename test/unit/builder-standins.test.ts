import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile, mkdir, symlink, lstat, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  installStandIn,
  programPath,
  removeStandIn,
  STAND_IN_MARKER,
  systemctlStandIn,
  standInsFor,
  POLICY_RC_D,
} from "../../src/builder/chroot/standins.js";

const exec = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bib-standin-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the stand-in text with sh; `/bin/echo` plays the real systemctl so forwarding is visible. */
async function systemctl(args: string[], cwdUnits?: string): Promise<{ code: number; out: string }> {
  const file = path.join(dir, "systemctl");
  let text = systemctlStandIn("/bin/echo");
  if (cwdUnits) text = text.replaceAll("/etc/systemd/system ", `${cwdUnits} `);
  await writeFile(file, text, { mode: 0o755 });
  try {
    const { stdout } = await exec("sh", [file, ...args]);
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

describe("the systemctl stand-in", () => {
  it("carries the marker sysprep looks for", () => {
    expect(systemctlStandIn("/x")).toContain(STAND_IN_MARKER);
    expect(POLICY_RC_D).toContain(STAND_IN_MARKER);
  });

  it("forwards unit-file verbs, options included, to the real systemctl", async () => {
    expect(await systemctl(["enable", "--now", "ssh.service"])).toEqual({
      code: 0,
      out: "enable --now ssh.service\n",
    });
    expect((await systemctl(["--no-reload", "mask", "x"])).out).toBe("--no-reload mask x\n");
  });

  it("answers runtime verbs itself: nothing runs in a chroot", async () => {
    for (const verb of ["start", "stop", "restart", "reload", "daemon-reload"]) {
      expect(await systemctl([verb, "ssh"])).toEqual({ code: 0, out: "" });
    }
    expect(await systemctl(["is-active", "ssh"])).toEqual({ code: 3, out: "inactive\n" });
  });

  it("shows unit state the way Ansible's systemd module parses it", async () => {
    const units = path.join(dir, "units");
    await mkdir(units, { recursive: true });
    await writeFile(path.join(units, "bib.service"), "[Service]\n");
    const { code, out } = await systemctl(["show", "bib"], units);
    expect(code).toBe(0);
    expect(out).toContain("Id=bib.service\n");
    expect(out).toContain("LoadState=loaded\n");
    expect(out).toContain("ActiveState=inactive\n");
    expect((await systemctl(["show", "missing.service"], units)).out).toContain("LoadState=not-found");
  });

  it("forwards unknown verbs so that the real program rejects what it rejects", async () => {
    expect((await systemctl(["frobnicate"])).out).toBe("frobnicate\n");
  });
});

describe("installing and removing stand-ins", () => {
  it("uses /usr paths in a merged-/usr tree", async () => {
    const root = path.join(dir, "merged");
    await mkdir(path.join(root, "usr/bin"), { recursive: true });
    await symlink("usr/bin", path.join(root, "bin"));
    await writeFile(path.join(root, "usr/bin/systemctl"), "real");
    expect(await programPath(root, "bin", "systemctl")).toBe("/usr/bin/systemctl");
  });

  it("restores the original, and keeps a newer real program a package installed over it", async () => {
    const root = path.join(dir, "tree");
    await mkdir(path.join(root, "usr/bin"), { recursive: true });
    await mkdir(path.join(root, "usr/sbin"), { recursive: true });
    await writeFile(path.join(root, "usr/bin/systemctl"), "real v1");
    const standIns = await standInsFor(root);
    for (const s of standIns) await installStandIn(root, s);
    for (const s of standIns) await installStandIn(root, s); // idempotent
    expect(await readFile(path.join(root, "usr/bin/systemctl"), "utf8")).toContain(STAND_IN_MARKER);
    expect(await readFile(path.join(root, "usr/sbin/policy-rc.d"), "utf8")).toContain("exit 101");
    for (const s of standIns) await removeStandIn(root, s);
    expect(await readFile(path.join(root, "usr/bin/systemctl"), "utf8")).toBe("real v1");
    await expect(lstat(path.join(root, "usr/sbin/policy-rc.d"))).rejects.toThrow();
    await expect(lstat(path.join(root, "usr/bin/systemctl.bib-orig"))).rejects.toThrow();

    for (const s of standIns) await installStandIn(root, s);
    await writeFile(path.join(root, "usr/bin/systemctl"), "real v2"); // what dpkg does on upgrade
    for (const s of standIns) await removeStandIn(root, s);
    expect(await readFile(path.join(root, "usr/bin/systemctl"), "utf8")).toBe("real v2");
    await expect(lstat(path.join(root, "usr/bin/systemctl.bib-orig"))).rejects.toThrow();
  });
});
