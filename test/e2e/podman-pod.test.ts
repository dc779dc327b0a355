// The build Job the operator renders, run as Kubernetes would run it: its Pod template played by
// `podman kube play` (Debian's podman 4.3, runc) from the images scripts/images.sh builds. The
// workspace is podman's emptyDir, mounted `nodev`. Each expensive thing runs once and its results
// are shared by the assertions: one reference build with a debootstrap base (every stage, the boot
// in the validate container), and a cheap tarball-base Pod (a Secret-sourced Ansible variable, a
// tgz). The image base, a failing Ansible task and the closed loop are in podman-lifecycle.test.ts.
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { POD_PATHS } from "../../src/api/constants.js";
import { parseResult } from "../../src/hooks/build-state.js";
import type { KubeObject } from "../../src/hooks/types.js";
import { run } from "../../src/util/exec.js";
import { minbaseTarball } from "./support/minbase-tarball.js";
import { referenceImageBuild, UNIT_LINE } from "./support/reference-build.js";
import {
  ensureImages,
  loggedField,
  measuredByContainer,
  playablePod,
  podman,
  removePod,
  renderChildren,
  runPod,
  sawNodevWorkspace,
  serveFile,
  tableCapabilities,
  workDirFor,
  type PlayablePod,
  type PodRun,
} from "./support/podman.js";

/** The package cache (spec.builder.cacheClaimName): empty, so the base runs debootstrap itself. */
const CACHE_CLAIM = "bib-podman-e2e-cache";
/** Where publish.volume copies the artifacts (a PersistentVolumeClaim, played as a named volume). */
const OUTPUT_CLAIM = "bib-podman-e2e-output";

function imageBuild(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name, namespace: "default", uid: `uid-${name}`, generation: 1 },
    spec,
  };
}

/** The reference build (debootstrap, a package, files, Ansible, a script), qcow2 only, booted. */
function referenceSpec(): Record<string, unknown> {
  const ib = parse(referenceImageBuild()) as { spec: Record<string, unknown> };
  return {
    ...ib.spec,
    formats: ["qcow2"],
    publish: { volume: { claimName: OUTPUT_CLAIM } },
    builder: { cacheClaimName: CACHE_CLAIM },
  };
}

/** What package left in state/artifacts.json, with the Pod's paths mapped to this host's. */
async function workspaceArtifacts(result: PodRun): Promise<Array<{ format: string; hostPath: string }>> {
  const list = JSON.parse(
    await readFile(path.join(result.workspace, "state/artifacts.json"), "utf8"),
  ) as Array<{
    format: string;
    path: string;
  }>;
  return list.map((a) => ({
    format: a.format,
    hostPath: path.join(result.workspace, path.relative(POD_PATHS.workspace, a.path)),
  }));
}

async function volumeDir(name: string): Promise<string> {
  return (await podman(["volume", "inspect", "--format", "{{.Mountpoint}}", name])).trim();
}

async function sha256(file: string): Promise<string> {
  return (await run("sha256sum", [file], { captureStdout: true })).stdout.split(" ")[0]!;
}

function report(what: string, result: PodRun): void {
  console.log(
    `${what}: ${result.seconds.toFixed(0)} s\n` +
      result.containers.map((c) => `${c.name}: exit ${c.exitCode} in ${c.seconds.toFixed(1)} s`).join("\n"),
  );
}

beforeAll(async () => {
  await ensureImages();
  // podman plays a persistentVolumeClaim as the named volume of that name.
  for (const claim of [CACHE_CLAIM, OUTPUT_CLAIM]) {
    await podman(["volume", "rm", "--force", claim]).catch(() => undefined);
    await podman(["volume", "create", claim]);
  }
});

afterAll(async () => {
  for (const claim of [CACHE_CLAIM, OUTPUT_CLAIM])
    await podman(["volume", "rm", "--force", claim]).catch(() => undefined);
});

describe("the reference build as a Pod in podman, debootstrap base on a nodev emptyDir", () => {
  const ib = imageBuild("podman-reference", referenceSpec());
  let workDir: string;
  let playable: PlayablePod;
  let result: PodRun;

  beforeAll(async () => {
    workDir = await workDirFor("reference");
    playable = await playablePod(renderChildren(ib), workDir);
    result = await runPod(playable, workDir);
    report("podman reference build", result);
  });

  afterAll(async () => {
    await removePod(playable);
    await rm(workDir, { recursive: true, force: true });
  });

  it("runs every stage container in order, each exiting 0", () => {
    expect(result.playError).toBeUndefined();
    expect(result.containers.map((c) => [c.name, c.exitCode])).toEqual([
      ["base", 0],
      ["provision", 0],
      ["package", 0],
      ["validate", 0],
      ["publish", 0],
    ]);
  });

  it("ran debootstrap itself, on a workspace the runtime mounted nodev", () => {
    const base = result.containers.find((c) => c.name === "base")!;
    expect(sawNodevWorkspace(base.logs)).toBe(true);
    const timings = loggedField<Array<{ step: string; outcome: string }>>(base.logs, "timings");
    expect(timings?.find((t) => t.step === "debootstrap")?.outcome).toBe("ok");
  });

  it("gives each container exactly the capabilities of its stage-table entry, read from inside", () => {
    expect(measuredByContainer(result)).toEqual(tableCapabilities(ib));
    expect(measuredByContainer(result).publish).toEqual([]);
  });

  it("writes the BuildResult the hook reads to the main container's termination message", async () => {
    const parsed = parseResult(result.terminationMessage);
    expect(parsed).toMatchObject({ ok: true });
    if (!parsed.ok) return;
    expect(parsed.result.images).toEqual([]);
    const [qcow2] = await workspaceArtifacts(result);
    const name = path.basename(qcow2!.hostPath);
    expect(parsed.result.artifacts).toEqual([
      {
        format: "qcow2",
        size: (await stat(qcow2!.hostPath)).size,
        sha256: await sha256(qcow2!.hostPath),
        location: `pvc://${OUTPUT_CLAIM}/${name}`,
      },
    ]);
    expect(await sha256(path.join(await volumeDir(OUTPUT_CLAIM), name))).toBe(
      parsed.result.artifacts[0]!.sha256,
    );
  });

  it("booted the qcow2 in the validate container to the spec's patterns", async () => {
    const validate = result.containers.find((c) => c.name === "validate")!;
    expect(validate.logs).toContain("validate: every expected pattern appeared on the console");
    // The console the validate container recorded, in the workspace beside the artifact.
    const console = await readFile(path.join(result.workspace, "state/console.log"), "utf8");
    expect(console).toContain(UNIT_LINE);
    expect(console).toMatch(/login:/);
  });
});

describe("a tarball base as a Pod in podman, on a nodev emptyDir", () => {
  const secret: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "site-vars", namespace: "default" },
    data: {
      "vars.json": Buffer.from(JSON.stringify({ site_token: "not-really-a-token" })).toString("base64"),
    },
  };
  const playbook = `- hosts: all
  gather_facts: false
  tasks:
    - name: record the secret's length
      ansible.builtin.copy:
        dest: /etc/site-token-length
        content: "{{ site_token | length }}\\n"
        mode: "0644"
`;
  let ib: ReturnType<typeof imageBuild>;
  let workDir: string;
  let playable: PlayablePod;
  let result: PodRun;

  beforeAll(async () => {
    const tarball = await minbaseTarball();
    const served = await serveFile(tarball.file);
    try {
      ib = imageBuild("podman-tarball", {
        base: { tarball: { url: served.url, sha256: tarball.sha256 } },
        provisioners: [
          {
            name: "site",
            ansible: { playbook, extraVarsSecretRef: { name: "site-vars", key: "vars.json" } },
          },
        ],
        formats: ["tgz"],
        validate: { boot: { enabled: false } },
        publish: { volume: { claimName: OUTPUT_CLAIM, path: "tarball-base" } },
      });
      workDir = await workDirFor("tarball");
      playable = await playablePod(renderChildren(ib, [secret]), workDir);
      result = await runPod(playable, workDir);
      report("podman tarball base", result);
    } finally {
      await served.close();
    }
  });

  afterAll(async () => {
    await removePod(playable);
    await rm(workDir, { recursive: true, force: true });
  });

  it("extracts, provisions with the Secret's variable and packages, each container exiting 0", async () => {
    expect(result.playError).toBeUndefined();
    expect(result.containers.map((c) => [c.name, c.exitCode])).toEqual([
      ["base", 0],
      ["provision", 0],
      ["package", 0],
      ["publish", 0],
    ]);
    const [tgz] = await workspaceArtifacts(result);
    const length = await run("tar", ["-xzOf", tgz!.hostPath, "./etc/site-token-length"], {
      captureStdout: true,
    });
    expect(length.stdout.trim()).toBe(String("not-really-a-token".length));
  });

  it("extracted on a nodev workspace without mounting, chrooting or MKNOD", () => {
    const base = result.containers.find((c) => c.name === "base")!;
    expect(sawNodevWorkspace(base.logs)).toBe(true);
    expect(measuredByContainer(result)).toEqual(tableCapabilities(ib));
    expect(measuredByContainer(result).base).toEqual([
      "CHOWN",
      "DAC_OVERRIDE",
      "FOWNER",
      "FSETID",
      "SETFCAP",
    ]);
  });

  it("reports the tgz it published", async () => {
    const parsed = parseResult(result.terminationMessage);
    expect(parsed).toMatchObject({ ok: true });
    if (!parsed.ok) return;
    const [tgz] = await workspaceArtifacts(result);
    expect(parsed.result.artifacts).toEqual([
      expect.objectContaining({
        format: "tgz",
        sha256: await sha256(tgz!.hostPath),
        location: `pvc://${OUTPUT_CLAIM}/tarball-base/${path.basename(tgz!.hostPath)}`,
      }),
    ]);
  });
});
