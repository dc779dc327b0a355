// spec.builder.hostUsers: false, run as Kubernetes runs it: the rendered Job's Pod played by
// `podman kube play` in a user namespace of its own, with the 65536 ids the kubelet maps per Pod
// (podman's own default is 1024). An image base keeps it short (no debootstrap): the copier in the
// user's image, provision's chroot (its mounts: tmpfs, bound device nodes, devpts, proc, sysfs),
// apt installing a package that sets a file capability, useradd with a uid above 1024 and an owner
// of 65534, then a tgz. Checked from inside and from the node: the uid map, the capabilities each
// container held, owners and the file capability as they land in the image. A namespace with too
// few ids is refused by the first container, before any step runs.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POD_PATHS } from "../../src/api/constants.js";
import { parseResult } from "../../src/hooks/build-state.js";
import { capabilityNames } from "../../src/util/capabilities.js";
import { run } from "../../src/util/exec.js";
import {
  DEBIAN_IMAGE,
  ensureImages,
  KUBELET_USERNS_IDS,
  logTail,
  playablePod,
  podman,
  removePod,
  renderChildren,
  runPod,
  workDirFor,
  type ContainerRun,
  type PlayablePod,
  type PodRun,
} from "./support/podman.js";

const SCRIPT = `set -eu
id -u > /etc/build-uid
useradd --uid 1500 --create-home --shell /bin/bash builder
install -d -o nobody -g nogroup /srv/nobody
`;

/** Where publish.volume copies the tgz (a PersistentVolumeClaim, played as a named volume). */
const OUTPUT_CLAIM = "bib-podman-userns-output";

function userNamespacedBuild(name: string) {
  return {
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name, namespace: "default", uid: `uid-${name}`, generation: 1 },
    spec: {
      base: { image: DEBIAN_IMAGE },
      // iputils-ping's postinst gives ping cap_net_raw with setcap, inside the namespace.
      packages: ["iputils-ping"],
      provisioners: [{ name: "owners", shell: { script: SCRIPT } }],
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
      publish: { volume: { claimName: OUTPUT_CLAIM } },
      builder: { hostUsers: false },
    },
  };
}

interface StageStart {
  capabilities: string[];
  uidMap: number[];
}

/** What a container said it held when it started: bib's first log line, or the copier's CapEff. */
function stageStart(c: ContainerRun): Partial<StageStart> {
  for (const line of c.logs.split("\n")) {
    const capEff = /^CapEff:\s+([0-9a-f]+)/.exec(line);
    if (capEff) return { capabilities: capabilityNames(capEff[1]!) };
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as Partial<StageStart>;
    if (entry.capabilities) return entry;
  }
  throw new Error(`${c.name}: no capabilities in the log:\n${c.logs.slice(0, 2000)}`);
}

async function tgzOf(result: PodRun): Promise<string> {
  const list = JSON.parse(
    await readFile(path.join(result.workspace, "state/artifacts.json"), "utf8"),
  ) as Array<{
    path: string;
  }>;
  return path.join(result.workspace, path.relative(POD_PATHS.workspace, list[0]!.path));
}

beforeAll(async () => {
  await ensureImages();
  await podman(["volume", "rm", "--force", OUTPUT_CLAIM]).catch(() => undefined);
  await podman(["volume", "create", OUTPUT_CLAIM]);
});

afterAll(async () => {
  await podman(["volume", "rm", "--force", OUTPUT_CLAIM]).catch(() => undefined);
});

describe("hostUsers: false in podman, 65536 ids as the kubelet maps them", () => {
  let workDir: string;
  let playable: PlayablePod;
  let result: PodRun;

  beforeAll(async () => {
    workDir = await workDirFor("userns");
    playable = await playablePod(renderChildren(userNamespacedBuild("podman-userns")), workDir);
    expect(playable.pod.spec!.hostUsers).toBe(false);
    result = await runPod(playable, workDir);
    console.log(
      `user-namespaced image-base build: ${result.seconds.toFixed(1)} s\n` +
        result.containers.map((c) => `${c.name}: exit ${c.exitCode} in ${c.seconds.toFixed(1)} s`).join("\n"),
    );
  });

  afterAll(async () => {
    await removePod(playable);
    await rm(workDir, { recursive: true, force: true });
  });

  it("runs every container to exit 0 and publishes the tgz into the claim, as the termination message says", async () => {
    expect(result.playError).toBeUndefined();
    expect(result.containers.map((c) => [c.name, c.exitCode])).toEqual([
      ["inject-tools", 0],
      ["base", 0],
      ["provision", 0],
      ["package", 0],
      ["publish", 0],
    ]);
    const parsed = parseResult(result.terminationMessage);
    expect(parsed).toMatchObject({ ok: true });
    if (!parsed.ok) return;
    const tgz = await tgzOf(result);
    const sha256 = (await run("sha256sum", [tgz], { captureStdout: true })).stdout.split(" ")[0];
    const name = path.basename(tgz);
    expect(parsed.result.artifacts).toEqual([
      expect.objectContaining({ format: "tgz", sha256, location: `pvc://${OUTPUT_CLAIM}/${name}` }),
    ]);
    const claim = (await podman(["volume", "inspect", "--format", "{{.Mountpoint}}", OUTPUT_CLAIM])).trim();
    const copy = (await run("sha256sum", [path.join(claim, name)], { captureStdout: true })).stdout;
    expect(copy.split(" ")[0]).toBe(sha256);
  });

  it("runs each builder container as uid 0 of a namespace of 65536 ids that is not the node's", () => {
    const maps = result.containers
      .filter((c) => c.name !== "base")
      .map((c) => [c.name, stageStart(c).uidMap]);
    const first = maps[0]![1]!;
    expect(first[0]).toBe(0);
    expect(first[1]).toBeGreaterThan(0);
    expect(first[2]).toBe(KUBELET_USERNS_IDS);
    // One namespace for the whole Pod, as Kubernetes gives it.
    expect(maps).toEqual(maps.map(([name]) => [name, first]));
  });

  it("gives each container exactly the capabilities its securityContext adds, inside the namespace", () => {
    const added = (name: string) =>
      [...(playable.pod.spec!.initContainers ?? []), ...playable.pod.spec!.containers].find(
        (c) => c.name === name,
      )!.securityContext!.capabilities!.add ?? [];
    for (const c of result.containers) {
      expect({ container: c.name, caps: stageStart(c).capabilities!.sort() }).toEqual({
        container: c.name,
        caps: [...added(c.name)].sort(),
      });
    }
  });

  it("keeps owners given inside the namespace, uid 0 of the namespace as root, and a portable file capability", async () => {
    const tgz = await tgzOf(result);
    const listing = (await run("tar", ["-tvzf", tgz, "--numeric-owner"], { captureStdout: true })).stdout;
    expect(listing).toMatch(/^d\S+ 1500\/1500 .* \.\/home\/builder\/$/m);
    expect(listing).toMatch(/^d\S+ 65534\/65534 .* \.\/srv\/nobody\/$/m);
    expect(listing).toMatch(/^-\S+ 0\/0 .* \.\/usr\/bin\/ping$/m);
    const uid = (await run("tar", ["-xzOf", tgz, "./etc/build-uid"], { captureStdout: true })).stdout;
    expect(uid.trim()).toBe("0");
    // setcap as root of a user namespace may write a namespaced (v3) capability that only that
    // namespace honours; the image must carry one a booted system honours: no rootid.
    const out = await mkdtemp(path.join(workDir, "ping-"));
    await run("tar", ["-xzf", tgz, "-C", out, "--xattrs", "--xattrs-include=*", "./usr/bin/ping"]);
    const caps = (await run("getcap", [path.join(out, "usr/bin/ping")], { captureStdout: true })).stdout;
    expect(caps.trim()).toBe(`${path.join(out, "usr/bin/ping")} cap_net_raw=ep`);
  });
});

describe("hostUsers: false in podman, a runtime that maps only podman's default 1024 ids", () => {
  let workDir: string;
  let playable: PlayablePod;
  let result: PodRun;

  beforeAll(async () => {
    workDir = await workDirFor("userns-small");
    playable = await playablePod(renderChildren(userNamespacedBuild("podman-userns-small")), workDir);
    result = await runPod(playable, workDir, { userNamespaceIds: 1024 });
  });

  afterAll(async () => {
    await removePod(playable);
    await rm(workDir, { recursive: true, force: true });
  });

  it("fails the first container before any step, naming the unmapped uid and what the node must map", () => {
    expect(result.containers.map((c) => [c.name, c.exitCode])).toEqual([["inject-tools", 1]]);
    const message = logTail(result.containers[0]!.logs);
    expect(message).toMatch(
      /^inject-tools: the container's user namespace leaves uid 1024 unmapped \(uid_map "0 \d+ 1024"\); an image root needs uids 0-65535 .* With spec\.builder\.hostUsers: false the node's runtime must map 65536 ids per Pod, as the kubelet does$/m,
    );
    expect(result.containers[0]!.logs).not.toMatch(/"event":"start"/);
    expect(result.terminationMessage).toBe("");
  });
});
