// The tgz artifact made by the real tar and igzip: the same tree gives the same bytes whatever the
// number of compression threads (a build Pod on a 2-core node and one on a 16-core node must
// publish the same sha256), and gzip and tar read it back with owners, modes and links as built.
import { createHash } from "node:crypto";
import { chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTarball } from "../../src/builder/disk/tarball.js";
import { run } from "../../src/util/exec.js";

const TIMESTAMP = 1_700_000_000;

/** Text that compresses, but not to nothing: enough of it that igzip splits it between threads. */
function logLines(count: number): string {
  let text = "";
  for (let i = 0; i < count; i++)
    text += `${i.toString(16)} ${((i * 2654435761) >>> 0).toString(36)} line of a log\n`;
  return text;
}

describe("the tgz artifact (tar + igzip)", () => {
  let tmp: string;
  let tree: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "bib-tarball-"));
    tree = path.join(tmp, "rootfs");
    await mkdir(path.join(tree, "srv/builder"), { recursive: true });
    await writeFile(path.join(tree, "var-log.txt"), logLines(600_000));
    await writeFile(path.join(tree, "srv/builder/note"), "made-by-test\n", { mode: 0o640 });
    await chown(path.join(tree, "srv/builder/note"), 1500, 1500);
    await symlink("srv/builder/note", path.join(tree, "note-link"));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("is the same bytes with 1 and 4 compression threads, and its hash is the file's", async () => {
    const one = path.join(tmp, "one.tar.gz");
    const four = path.join(tmp, "four.tar.gz");
    const a = await writeTarball(tree, one, TIMESTAMP, { threads: 1 });
    const b = await writeTarball(tree, four, TIMESTAMP, { threads: 4 });
    expect(a.size).toBeGreaterThan(1 << 20);
    expect(b).toEqual(a);
    const bytes = await readFile(four);
    expect(bytes.equals(await readFile(one))).toBe(true);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(a.sha256);
  });

  it("reads back with gzip and tar: owners, modes, links and clamped times as built", async () => {
    const file = path.join(tmp, "check.tar.gz");
    await writeTarball(tree, file, TIMESTAMP);
    await run("gzip", ["--test", file]);
    const listing = (await run("tar", ["--list", "--verbose", "--numeric-owner", "--gzip", "--file", file]))
      .stdout;
    expect(listing).toMatch(/-rw-r----- 1500\/1500\s+13 2023-11-14 \d\d:\d\d \.\/srv\/builder\/note/);
    expect(listing).toMatch(/\.\/note-link -> srv\/builder\/note/);
  });
});
