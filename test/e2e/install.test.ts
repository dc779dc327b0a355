// The README's commands as written, on what a fresh clone's set-up leaves: `scripts/install-deps.sh`
// (npm ci, the compiled CLI, `bib` on the PATH), then `bib ...` and `npx bib ...` as a user types them.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/util/exec.js";
import { REPO } from "./support/bib-cli.js";

let tmp: string;
let clone: string;
let binDir: string;
let setup: SpawnSyncReturns<string>;
let version: string;

/** The files a clone of this checkout holds (tracked files, as they are in the working tree). */
async function copyTrackedFiles(from: string, to: string): Promise<void> {
  const { stdout } = await run("git", ["-C", from, "ls-files", "-z"]);
  for (const file of stdout.split("\0").filter(Boolean)) {
    const source = path.join(from, file);
    const info = await lstat(source).catch(() => undefined);
    if (!info?.isFile()) continue; // deleted in the working tree: not in a clone of it either
    await mkdir(path.dirname(path.join(to, file)), { recursive: true });
    await copyFile(source, path.join(to, file));
    await chmod(path.join(to, file), info.mode & 0o777);
  }
}

/** A user's shell: PATH with the set-up's bin directory first, as /usr/local/bin is on Debian. */
function shellEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${binDir}:${process.env.PATH ?? "/usr/bin:/bin"}` };
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join("/var/tmp", "bib-install-"));
  clone = path.join(tmp, "clone");
  binDir = path.join(tmp, "bin");
  await copyTrackedFiles(REPO, clone);
  version = (JSON.parse(await readFile(path.join(clone, "package.json"), "utf8")) as { version: string })
    .version;
  // The set-up exactly as the quickstart runs it, with its link put in a directory of this test.
  // npm ci may take the packages from npm's cache without asking the registry whether each is still
  // current (CI's own set-up just filled the cache): minutes less, and the same node_modules.
  setup = spawnSync("bash", ["scripts/install-deps.sh"], {
    cwd: clone,
    env: { ...shellEnv(), BIB_BIN_DIR: binDir, npm_config_prefer_offline: "true" },
    encoding: "utf8",
  });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("a fresh clone after scripts/install-deps.sh", () => {
  it("has `bib` on the PATH, linked to the clone's compiled CLI", async () => {
    expect(setup.stderr + setup.stdout).not.toContain("warning:");
    expect(setup.status).toBe(0);
    expect(await realpath(path.join(binDir, "bib"))).toBe(path.join(clone, "dist/cli/main.js"));
    const which = spawnSync("sh", ["-c", "command -v bib"], { env: shellEnv(), encoding: "utf8" });
    expect(which.stdout.trim()).toBe(path.join(binDir, "bib"));
  });

  it("runs `bib --version` and `bib validate -f examples/...` as the README writes them", () => {
    const versionRun = spawnSync("bib", ["--version"], { cwd: clone, env: shellEnv(), encoding: "utf8" });
    expect(versionRun.stderr).toBe("");
    expect(versionRun.stdout.trim()).toBe(version);

    const valid = spawnSync("bib", ["validate", "-f", "examples/debian-12.yaml"], {
      cwd: clone,
      env: shellEnv(),
      encoding: "utf8",
    });
    expect(valid.stdout.trim()).toBe("ok default/debian-12");
    expect(valid.status).toBe(0);

    // From any directory: the link resolves the clone's node_modules, not the caller's.
    const invalid = spawnSync(
      "bib",
      ["validate", "-f", path.join(clone, "examples/invalid/bad-format.yaml")],
      {
        cwd: tmp,
        env: shellEnv(),
        encoding: "utf8",
      },
    );
    expect(invalid.stdout + invalid.stderr).toContain(
      'spec.formats[1]: Invalid option: expected one of "qcow2"',
    );
    expect(invalid.status).toBe(1);
  });

  it("runs `npx bib --version` in the clone (package.json's bin is built by npm ci)", () => {
    // Without the set-up's bin directory on the PATH: npx finds the package's own bin.
    const npx = spawnSync("npx", ["--no-install", "bib", "--version"], { cwd: clone, encoding: "utf8" });
    expect(npx.stderr).toBe("");
    expect(npx.stdout.trim()).toBe(version);
  });
});
