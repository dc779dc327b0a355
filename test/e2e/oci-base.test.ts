// A base from an OCI image, both ways the builder gets one:
// - locally: `bib build` pulls it from a real registry (Debian's docker-registry) with skopeo and
//   unpacks it with umoci;
// - in the Pod: `bib stage inject-tools` writes the static copier, the base image's "container"
//   (here: a chroot into the unpacked image with the workspace mounted at /workspace) runs it, and
//   `bib stage provision` normalizes and provisions what it copied.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, chmod, chown, copyFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { run } from "../../src/util/exec.js";
import { writePlanDir } from "../../src/builder/plan-dir.js";
import { resolvePlan } from "../../src/plan/plan.js";
import { bib, mountsUnder } from "./support/bib-cli.js";

let tmp: string;
let registry: ChildProcess | undefined;
let port: number;
const layout = () => path.join(tmp, "layout");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port: p } = server.address() as net.AddressInfo;
      server.close(() => resolve(p));
    });
  });
}

async function waitForRegistry(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("docker-registry did not start");
}

/** A tiny tree: busybox as /bin/sh, a marker file with an owner and mode the copy must keep. */
async function makeTree(root: string): Promise<void> {
  for (const d of ["bin", "etc/bib", "tmp", "var/lib/owned"])
    await mkdir(path.join(root, d), { recursive: true });
  await copyFile("/bin/busybox", path.join(root, "bin/busybox"));
  await chmod(path.join(root, "bin/busybox"), 0o755);
  for (const tool of ["sh", "cat", "echo", "mkdir", "chmod"])
    await symlink("busybox", path.join(root, "bin", tool));
  await writeFile(path.join(root, "etc/os-release"), "ID=bib-oci-test\n");
  await writeFile(path.join(root, "var/lib/owned/data"), "owned\n", { mode: 0o640 });
  await chown(path.join(root, "var/lib/owned/data"), 1234, 5678);
}

beforeAll(async () => {
  tmp = await mkdtemp("/var/tmp/bib-oci-");
  port = await freePort();
  const config = path.join(tmp, "registry.yml");
  await writeFile(
    config,
    stringify({
      version: 0.1,
      storage: { filesystem: { rootdirectory: path.join(tmp, "registry") } },
      http: { addr: `127.0.0.1:${port}` },
    }),
  );
  registry = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
  await waitForRegistry();

  // An OCI image from the tree: umoci builds the layer, skopeo pushes it.
  await run("umoci", ["init", "--layout", layout()]);
  await run("umoci", ["new", "--image", `${layout()}:base`]);
  const bundle = path.join(tmp, "bundle");
  await run("umoci", ["unpack", "--image", `${layout()}:base`, bundle]);
  await makeTree(path.join(bundle, "rootfs"));
  await run("umoci", ["repack", "--image", `${layout()}:base`, bundle]);
  await run("skopeo", [
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    `oci:${layout()}:base`,
    `docker://127.0.0.1:${port}/base:1`,
  ]);
});

afterAll(async () => {
  registry?.kill("SIGTERM");
  await rm(tmp, { recursive: true, force: true });
});

/** Printed by the provisioner; in the Pod test it is also a Secret value, so the log must hide it. */
const POD_SECRET = "s3cr3t-registry-token";

const spec = () => ({
  base: { image: `127.0.0.1:${port}/base:1` },
  provisioners: [
    {
      name: "mark",
      shell: { script: `echo provisioned > /etc/bib/provisioned\necho "registry token ${POD_SECRET}"\n` },
    },
  ],
  formats: ["tgz"],
  validate: { boot: { enabled: false } },
});

async function tarList(file: string): Promise<string> {
  return (await run("tar", ["-tvzf", file, "--numeric-owner"])).stdout;
}

describe("an OCI image base", () => {
  it("is pulled from a registry and unpacked by `bib build`", async () => {
    const file = path.join(tmp, "ib.yaml");
    await writeFile(
      file,
      stringify({
        apiVersion: "bib.dev/v1alpha1",
        kind: "ImageBuild",
        metadata: { name: "oci" },
        spec: spec(),
      }),
    );
    // Plain HTTP to the test registry is allowed the way containers tools allow it: registries.conf.
    const conf = path.join(tmp, "registries.conf");
    await writeFile(conf, `[[registry]]\nlocation = "127.0.0.1:${port}"\ninsecure = true\n`);
    const output = path.join(tmp, "out");
    const workspace = path.join(tmp, "ws");
    // Its own cache: a tree cached by another run must not turn the steps into "cached".
    const cache = path.join(tmp, "cache");
    const result = await bib(
      ["build", "-f", file, "--output", output, "--workspace", workspace, "--cache", cache],
      {
        env: { ...process.env, CONTAINERS_REGISTRIES_CONF: conf },
      },
    );
    expect(result.stderr).not.toContain("failed");
    expect(result.code).toBe(0);
    const build = JSON.parse(await readFile(path.join(output, "build.json"), "utf8")) as {
      artifacts: Array<{ file: string }>;
    };
    const listing = await tarList(path.join(output, build.artifacts[0]!.file));
    expect(listing).toMatch(/-rw-r----- 1234\/5678 +6 .* \.\/var\/lib\/owned\/data/);
    expect(listing).toMatch(/\.\/etc\/os-release/);
    expect(listing).toMatch(/\.\/etc\/bib\/provisioned/);
    expect(listing).toMatch(/\.\/bin\/sh -> busybox/);
    expect(await mountsUnder(workspace)).toEqual([]);
  });

  it("is copied by the injected copier in the Pod layout, then provisioned by `bib stage`", async () => {
    const resolved = resolvePlan({ metadata: { name: "oci-pod" }, spec: spec() });
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
    const pod = path.join(tmp, "pod");
    const planDir = path.join(pod, "plan");
    const workspace = path.join(pod, "workspace");
    await writePlanDir(planDir, resolved.plan);
    await mkdir(workspace, { recursive: true });
    const flags = [
      "--plan",
      planDir,
      "--workspace",
      workspace,
      "--secrets",
      path.join(pod, "secrets"),
      "--configmaps",
      path.join(pod, "cm"),
      "--cache",
      path.join(pod, "cache"),
    ];

    const inject = await bib(["stage", "inject-tools", ...flags]);
    expect(inject.code).toBe(0);

    // The base image's container: its own root, the workspace volume at /workspace, /proc.
    const container = path.join(tmp, "container");
    await run("umoci", ["raw", "unpack", "--image", `${layout()}:base`, container]);
    await mkdir(path.join(container, "workspace"));
    await mkdir(path.join(container, "proc"));
    await run("mount", ["--bind", workspace, path.join(container, "workspace")]);
    await run("mount", ["-t", "proc", "proc", path.join(container, "proc")]);
    try {
      const copied = await run("chroot", [container, "/workspace/.tools/bib-copy-rootfs"]);
      expect(copied.stdout).toContain("copied the base image");
    } finally {
      await run("umount", [path.join(container, "proc")]);
      await run("umount", [path.join(container, "workspace")]);
    }

    await mkdir(path.join(pod, "secrets"), { recursive: true });
    await writeFile(
      path.join(pod, "secrets", "oci.dockerconfigjson"),
      JSON.stringify({ auths: { r: { password: POD_SECRET } } }),
    );
    const provision = await bib(["stage", "provision", ...flags]);
    expect(provision.stderr).toBe("");
    expect(provision.code).toBe(0);
    expect(provision.stdout).toContain("registry token [REDACTED]");
    expect(provision.stdout).not.toContain(POD_SECRET);
    const rootfs = path.join(workspace, "rootfs");
    expect(await readFile(path.join(rootfs, "etc/bib/provisioned"), "utf8")).toBe("provisioned\n");
    expect(await readFile(path.join(rootfs, "var/lib/owned/data"), "utf8")).toBe("owned\n");
    // The copier skipped the Pod's own mounts; normalization recreated the kernel fs mount points.
    expect(await readFile(path.join(rootfs, "etc/os-release"), "utf8")).toBe("ID=bib-oci-test\n");
    const { stdout } = await run("stat", [
      "-c",
      "%a %u:%g",
      path.join(rootfs, "var/lib/owned/data"),
      path.join(rootfs, "tmp"),
    ]);
    expect(stdout).toBe("640 1234:5678\n1777 0:0\n");
    expect(await mountsUnder(workspace)).toEqual([]);
    await expect(readFile(path.join(rootfs, "workspace/.tools/busybox"))).rejects.toThrow();
  });
});
