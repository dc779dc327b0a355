// publish.oci against Debian's real registry (docker-registry) with htpasswd auth, and skopeo.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/plan/artifact.js";
import { OCI_DOCKER_CONFIG_FILE } from "../../src/plan/plan.js";
import { cleanupPublished } from "../../src/publish/cleanup.js";
import { ociPublisher } from "../../src/publish/oci.js";
import { run } from "../../src/util/exec.js";
import {
  artifactFor,
  contextFor,
  planWith,
  sha256File,
  sparseImage,
  tempDir,
  writeSecrets,
} from "../integration/publish-fixtures.js";

const USER = "builder";
const PASSWORD = "s3cret-pass";
let dir: string;
let registry: ChildProcess;
let host: string;
let qcow2: Artifact;
let secretsDir: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForRegistry(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url);
      if (res.status === 401 || res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("docker-registry did not start within 10 s");
}

const authFile = (user: string, password: string) =>
  JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } } });

beforeAll(async () => {
  dir = await tempDir("oci");
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  const htpasswd = path.join(dir, "htpasswd");
  await run("htpasswd", ["-Bbc", htpasswd, USER, PASSWORD]);
  const config = path.join(dir, "registry.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log: {level: warn}",
      `storage: {filesystem: {rootdirectory: ${path.join(dir, "storage")}}, delete: {enabled: true}}`,
      `http: {addr: "${host}"}`,
      `auth: {htpasswd: {realm: bib-test, path: ${htpasswd}}}`,
      "",
    ].join("\n"),
  );
  registry = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
  await waitForRegistry(`http://${host}/v2/`);

  const raw = path.join(dir, "disk.raw");
  await sparseImage(raw, 64 * 2 ** 20, 4, 256 * 1024);
  const qcow2Path = path.join(dir, "golden-abc.qcow2");
  await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2Path]);
  qcow2 = await artifactFor(qcow2Path, "qcow2");
  secretsDir = path.join(dir, "secrets");
  await writeSecrets(secretsDir, { [OCI_DOCKER_CONFIG_FILE]: authFile(USER, PASSWORD) });
});

afterAll(async () => {
  if (registry?.pid) process.kill(registry.pid, "SIGTERM");
  await rm(dir, { recursive: true, force: true });
});

const ociPlan = () =>
  planWith({
    oci: {
      repository: `${host}/images/debian`,
      tag: "12",
      insecure: true,
      credentialsSecretRef: { name: "reg" },
    },
  });

describe("oci publisher against docker-registry", () => {
  it("pushes a containerDisk whose single layer holds the qcow2 at /disk/, owned by 107", async () => {
    const plan = ociPlan();
    const result = await ociPublisher().publish(contextFor(plan, [qcow2], { secretsDir, volumeRoot: dir }));
    const digest = result.images[0]!.digest!;
    expect(result.images).toEqual([
      {
        provider: "oci",
        name: `${host}/images/debian:12`,
        digest,
        imageId: `${host}/images/debian@${digest}`,
      },
    ]);
    expect(result.artifacts[0]!.location).toBe(`oci://${host}/images/debian:12@${digest}`);
    const authfile = path.join(secretsDir, OCI_DOCKER_CONFIG_FILE);

    // The registry serves that digest for the tag.
    const { stdout } = await run("skopeo", [
      "inspect",
      "--tls-verify=false",
      "--authfile",
      authfile,
      `docker://${host}/images/debian:12`,
    ]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(digest);

    // Pull it back and look inside the layer.
    const pulled = path.join(dir, "pulled");
    await run("skopeo", [
      "copy",
      "--src-tls-verify=false",
      "--authfile",
      authfile,
      `docker://${host}/images/debian:12`,
      `oci:${pulled}:12`,
    ]);
    const index = JSON.parse(await readFile(path.join(pulled, "index.json"), "utf8")) as {
      manifests: Array<{ digest: string }>;
    };
    const blob = (d: string) => path.join(pulled, "blobs", "sha256", d.replace("sha256:", ""));
    const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), "utf8")) as {
      layers: Array<{ digest: string }>;
    };
    expect(manifest.layers).toHaveLength(1);
    const layer = blob(manifest.layers[0]!.digest);
    const listing = (await run("tar", ["--numeric-owner", "-tvf", layer])).stdout.trim().split("\n");
    expect(listing).toHaveLength(2);
    expect(listing[0]).toMatch(/^dr-xr-xr-x 107\/107 .* disk\/$/);
    expect(listing[1]).toMatch(
      new RegExp(`^-r--r--r-- 107/107 +${qcow2.size} .* disk/${plan.buildName}\\.qcow2$`),
    );
    const out = path.join(dir, "extracted");
    await mkdir(out);
    await run("tar", ["-xf", layer, "-C", out]);
    expect(await sha256File(path.join(out, "disk", `${plan.buildName}.qcow2`))).toBe(qcow2.sha256);
    // The image is a valid qcow2 still.
    const info = JSON.parse(
      (await run("qemu-img", ["info", "--output=json", path.join(out, "disk", `${plan.buildName}.qcow2`)]))
        .stdout,
    ) as {
      format: string;
    };
    expect(info.format).toBe("qcow2");

    // Pushing again is idempotent: same content, same digest.
    const again = await ociPublisher().publish(contextFor(plan, [qcow2], { secretsDir, volumeRoot: dir }));
    expect(again.images[0]!.digest).toBe(digest);

    // Cleanup deletes the manifest; a second run finds it gone.
    const cleanup = () =>
      cleanupPublished({ plan, published: result, secretsDir, log: pino({ level: "silent" }) });
    const first = await cleanup();
    expect(first.failures.join("\n")).toBe("");
    expect(first.done).toEqual([`delete ${host}/images/debian@${digest}: deleted`]);
    await expect(
      run("skopeo", [
        "inspect",
        "--tls-verify=false",
        "--authfile",
        authfile,
        `docker://${host}/images/debian@${digest}`,
      ]),
    ).rejects.toThrow(/manifest unknown/i);
    const second = await cleanup();
    expect(second.failures).toEqual([]);
    expect(second.done).toEqual([`delete ${host}/images/debian@${digest}: already gone`]);
  });

  it("reports wrong credentials naming the repository, without the password", async () => {
    const bad = path.join(dir, "bad-secrets");
    await writeSecrets(bad, { [OCI_DOCKER_CONFIG_FILE]: authFile(USER, "wrong-password") });
    const error = await ociPublisher()
      .publish(contextFor(ociPlan(), [qcow2], { secretsDir: bad, volumeRoot: dir }))
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      new RegExp(`^publish\\.oci \\(${host.replace(/\./g, "\\.")}/images/debian\\): credentials rejected`),
    );
    expect((error as Error).message).not.toContain("wrong-password");
  });
});
