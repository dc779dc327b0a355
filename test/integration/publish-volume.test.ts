import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { atomicCopy, destinationDir, volumeLocation, volumePublisher } from "../../src/publish/volume.js";
import { publishAll } from "../../src/publish/index.js";
import { artifactFor, contextFor, planWith, sha256File, sparseImage, tempDir } from "./publish-fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await tempDir("volume");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("volume publisher", () => {
  it("copies every artifact under the volume path and reports pvc:// locations", async () => {
    const volume = path.join(dir, "volume");
    await sparseImage(path.join(dir, "x.raw"), 3 * 2 ** 20, 2, 100_000);
    const raw = await artifactFor(path.join(dir, "x.raw"), "raw");
    await writeFile(path.join(dir, "x.tgz"), "tarball");
    const tgz = await artifactFor(path.join(dir, "x.tgz"), "tgz");
    const plan = planWith({ volume: { claimName: "images", path: "builds/debian/" } });
    const result = await volumePublisher("pvc").publish(
      contextFor(plan, [raw, tgz], { secretsDir: dir, volumeRoot: volume }),
    );

    expect(result.artifacts.map((a) => a.location)).toEqual([
      "pvc://images/builds/debian/x.raw",
      "pvc://images/builds/debian/x.tgz",
    ]);
    expect(await sha256File(path.join(volume, "builds/debian/x.raw"))).toBe(raw.sha256);
    expect(await readFile(path.join(volume, "builds/debian/x.tgz"), "utf8")).toBe("tarball");
    expect((await readdir(path.join(volume, "builds/debian"))).sort()).toEqual(["x.raw", "x.tgz"]);
  });

  it("replaces an existing file whole, and leaves it untouched when the copy fails", async () => {
    const dest = path.join(dir, "out.img");
    await writeFile(dest, "old contents");
    await writeFile(path.join(dir, "new.img"), "new contents, longer than before");
    await atomicCopy(path.join(dir, "new.img"), dest);
    expect(await readFile(dest, "utf8")).toBe("new contents, longer than before");

    await expect(atomicCopy(path.join(dir, "missing.img"), dest)).rejects.toThrow(/ENOENT/);
    expect(await readFile(dest, "utf8")).toBe("new contents, longer than before");
    expect((await readdir(dir)).sort()).toEqual(["new.img", "out.img"]);
  });

  it("cleans up its temporary file when the destination directory refuses the rename target", async () => {
    const ro = path.join(dir, "ro");
    await writeFile(path.join(dir, "a.img"), "a");
    // A directory where the file should go: the rename fails after the copy was written.
    await mkdir(path.join(ro, "a.img"), { recursive: true });
    await expect(atomicCopy(path.join(dir, "a.img"), path.join(ro, "a.img"))).rejects.toThrow();
    expect(await readdir(ro)).toEqual(["a.img"]);
  });

  it("refuses a path outside the volume and builds both location styles", () => {
    expect(() => destinationDir("/mnt/vol", "../etc")).toThrow(
      /publish\.volume\.path: "\.\.\/etc" is outside the volume/,
    );
    expect(destinationDir("/mnt/vol", "/a/b")).toBe("/mnt/vol/a/b");
    expect(volumeLocation("pvc", "images", "", "x.qcow2", "/mnt/vol/x.qcow2")).toBe("pvc://images/x.qcow2");
    expect(volumeLocation("pvc", "images", "builds", "x.qcow2", "/mnt/vol/builds/x.qcow2")).toBe(
      "pvc://images/builds/x.qcow2",
    );
    expect(volumeLocation("file", "images", "builds/", "x.qcow2", "/out/builds/x.qcow2")).toBe(
      "file:///out/builds/x.qcow2",
    );
  });

  it("locally without publish.volume, publishAll reports the artifacts where they are", async () => {
    await writeFile(path.join(dir, "x.qcow2"), "disk");
    const qcow2 = await artifactFor(path.join(dir, "x.qcow2"), "qcow2");
    const plan = planWith({});
    const result = await publishAll(contextFor(plan, [qcow2], { secretsDir: dir, volumeRoot: dir }), {
      location: "file",
    });
    expect(result).toEqual({
      artifacts: [{ format: "qcow2", size: 4, sha256: qcow2.sha256, location: `file://${qcow2.path}` }],
      images: [],
    });
  });
});
