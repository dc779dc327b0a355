// THE reference build, end to end through the real CLI, under a capability bounding set equal to
// BUILD_CAPABILITIES (what the build Pod keeps): debootstrap, packages, files, Ansible (a unit that
// prints a line on the console at boot), a shell script; qcow2, raw and tgz; boot validation in
// QEMU expects the login prompt AND the unit's line.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/util/exec.js";
import { bib, mountsUnder, type CliRun } from "./support/bib-cli.js";
import { ownCache } from "./support/own-cache.js";
import { referenceImageBuild } from "./support/reference-build.js";

let tmp: string;
let result: CliRun;
let output: string;
let workspace: string;

interface BuildJson {
  buildName: string;
  artifacts: Array<{ format: string; file: string; size: number; sha256: string }>;
  result: { artifacts: Array<{ format: string; location: string }> };
}

beforeAll(async () => {
  tmp = await mkdtemp("/var/tmp/bib-reference-");
  const file = path.join(tmp, "imagebuild.yaml");
  await writeFile(file, referenceImageBuild());
  output = path.join(tmp, "out");
  workspace = path.join(tmp, "ws");
  const cache = await ownCache(path.join(tmp, "cache"));
  result = await bib(
    ["build", "-f", file, "--output", output, "--workspace", workspace, "--cache", cache.dir],
    { capabilities: "reduced" },
  );
  await cache.share();
  console.log(
    `reference build: ${result.seconds.toFixed(0)} s\n${result.stdout.split("\n\n").slice(-2).join("\n\n")}`,
  );
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("the reference build under BUILD_CAPABILITIES", () => {
  it("succeeds and prints the timing and artifacts tables", () => {
    expect(result.stderr).not.toMatch(/failed/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/validate\s+validate\s+ok/);
    expect(result.stdout).toMatch(/FORMAT\s+SIZE\s+SHA256\s+LOCATION/);
  });

  it("writes qcow2, raw and tgz with the sizes and hashes build.json reports", async () => {
    const build = JSON.parse(await readFile(path.join(output, "build.json"), "utf8")) as BuildJson;
    expect(build.artifacts.map((a) => a.format).sort()).toEqual(["qcow2", "raw", "tgz"]);
    for (const a of build.artifacts) {
      const [sum] = (await run("sha256sum", [path.join(output, a.file)])).stdout.split(" ");
      expect(sum).toBe(a.sha256);
      expect(result.stdout).toContain(a.sha256);
    }
    const qcow2 = build.artifacts.find((a) => a.format === "qcow2")!;
    const info = JSON.parse(
      (await run("qemu-img", ["info", "--output=json", path.join(output, qcow2.file)])).stdout,
    ) as { format: string };
    expect(info.format).toBe("qcow2");
  });

  it("keeps owners and modes in the tree, and leaves no stand-in behind", async () => {
    const build = JSON.parse(await readFile(path.join(output, "build.json"), "utf8")) as BuildJson;
    const tgz = path.join(output, build.artifacts.find((a) => a.format === "tgz")!.file);
    const listing = (await run("tar", ["-tvzf", tgz, "--numeric-owner"], { captureStdout: true })).stdout;
    const line = (name: string) =>
      listing.split("\n").find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `)) ?? `(no ${name})`;
    expect(line("./etc/bib/secret.conf")).toMatch(/^-rw------- 0\/0 /);
    expect(line("./etc/motd")).toMatch(/^-rw-r--r-- 0\/0 /);
    expect(line("./srv/builder/")).toMatch(/^drwxr-x--- 1500\/1500 /);
    expect(line("./srv/builder/note")).toMatch(/^-rw-r----- 1500\/1500 /);
    expect(line("./usr/bin/curl")).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(line("./usr/bin/passwd")).toMatch(/^-rwsr-xr-x 0\/0 /);
    expect(line("./etc/systemd/system/multi-user.target.wants/bib-e2e.service")).toMatch(
      /-> \/etc\/systemd\/system\/bib-e2e.service$/,
    );
    expect(listing).not.toMatch(/bib-orig|policy-rc\.d$/);
    const systemctl = (await run("tar", ["-xzOf", tgz, "./usr/bin/systemctl"], { captureStdout: true }))
      .stdout;
    expect(systemctl).not.toContain("bib-build-stand-in");
    const release = (await run("tar", ["-xzOf", tgz, "./etc/bib-release"])).stdout;
    expect(release).toBe("e2e-1\n");
  });

  it("leaves nothing mounted and removes the workspace", async () => {
    expect(await mountsUnder(workspace)).toEqual([]);
    expect(await mountsUnder(tmp)).toEqual([]);
    await expect(readFile(path.join(workspace, "bib/plan/plan.json"))).rejects.toThrow();
  });
});
