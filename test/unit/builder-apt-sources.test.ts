import { describe, expect, it } from "vitest";
import { parseDeb822Sources, parseOneLineSources, pickMirror } from "../../src/builder/base/apt-sources.js";
import { debootstrapArgs, withBootIncludes } from "../../src/builder/stages/base.js";
import { packagesToInstall } from "../../src/builder/stages/provision.js";
import { treeCacheKey } from "../../src/builder/base/tree-cache.js";

const deb822 = `Types: deb
# a comment
URIs: http://mirror.test/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.test/debian-security
Suites: bookworm-security
Components: main
`;

describe("the host's Debian mirror", () => {
  it("is the first release source of a deb822 file, not the security one", () => {
    expect(pickMirror(parseDeb822Sources(deb822))).toBe("http://mirror.test/debian");
    const securityFirst = deb822.split("\n\n").reverse().join("\n\n");
    expect(pickMirror(parseDeb822Sources(securityFirst))).toBe("http://mirror.test/debian");
  });

  it("ignores disabled stanzas and deb-src", () => {
    const text = `Types: deb-src\nURIs: http://src.test/debian\nSuites: bookworm\n\nEnabled: no\nTypes: deb\nURIs: http://off.test/debian\nSuites: bookworm\n`;
    expect(pickMirror(parseDeb822Sources(text))).toBeUndefined();
  });

  it("reads one-line sources.list entries with options", () => {
    const text =
      "# deb http://old.test/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.test/debian bookworm main\n";
    expect(pickMirror(parseOneLineSources(text))).toBe("http://one.test/debian");
  });
});

describe("debootstrap arguments", () => {
  it("passes variant, includes, the package cache, suite, target and mirror", () => {
    expect(
      debootstrapArgs(
        { type: "debootstrap", suite: "bookworm", variant: "minbase", include: ["systemd-sysv", "python3"] },
        "/w/rootfs",
        "http://mirror.test/debian",
        "/cache/apt/archives",
      ),
    ).toEqual([
      "--variant=minbase",
      "--include=systemd-sysv,python3",
      "--cache-dir=/cache/apt/archives",
      "bookworm",
      "/w/rootfs",
      "http://mirror.test/debian",
    ]);
  });

  it("leaves the mirror to debootstrap when none is known", () => {
    expect(
      debootstrapArgs({ type: "debootstrap", suite: "bookworm", include: [] }, "/r", undefined, undefined),
    ).toEqual(["bookworm", "/r"]);
  });
});

describe("boot packages for a disk", () => {
  const base = { type: "debootstrap" as const, suite: "bookworm", include: ["python3", "systemd-sysv"] };

  it("are installed by debootstrap itself when a disk format is built", () => {
    expect(withBootIncludes(base, { formats: ["qcow2", "tgz"] }).include).toEqual([
      "python3",
      "systemd-sysv",
      "linux-image-cloud-amd64",
      "initramfs-tools",
    ]);
  });

  it("are left out of a tree-only build", () => {
    expect(withBootIncludes(base, { formats: ["tgz"] })).toEqual(base);
  });

  it("are added in provision only for what the tree lacks", () => {
    const plan = { packages: ["curl"], formats: ["raw" as const] };
    expect(packagesToInstall(plan, { hasKernel: true, hasInit: true })).toEqual(["curl"]);
    expect(packagesToInstall(plan, { hasKernel: false, hasInit: true })).toEqual([
      "curl",
      "linux-image-cloud-amd64",
      "initramfs-tools",
    ]);
    expect(packagesToInstall({ ...plan, formats: ["tgz"] }, { hasKernel: false, hasInit: false })).toEqual([
      "curl",
    ]);
  });
});

describe("the debootstrap tree cache key", () => {
  const key = treeCacheKey({
    suite: "bookworm",
    variant: "minbase",
    include: ["a", "b"],
    mirror: "http://m.test/debian",
  });

  it("ignores the order of includes", () => {
    expect(
      treeCacheKey({
        suite: "bookworm",
        variant: "minbase",
        include: ["b", "a"],
        mirror: "http://m.test/debian",
      }),
    ).toBe(key);
  });

  it("changes with suite, variant, includes and mirror", () => {
    for (const other of [
      { suite: "trixie", variant: "minbase", include: ["a", "b"], mirror: "http://m.test/debian" },
      { suite: "bookworm", include: ["a", "b"], mirror: "http://m.test/debian" },
      { suite: "bookworm", variant: "minbase", include: ["a"], mirror: "http://m.test/debian" },
      { suite: "bookworm", variant: "minbase", include: ["a", "b"], mirror: "http://other.test/debian" },
    ]) {
      expect(treeCacheKey(other)).not.toBe(key);
    }
  });
});
