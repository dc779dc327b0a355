// The loop closed: the lifecycle harness (API-server and Metacontroller stand-ins, the real hook
// service over HTTP) with its Jobs run in podman instead of being played: the Job the hook created
// runs as a Pod in `podman kube play`, and the real container states go back into the Pod status
// the next sync reads. Both stories are cheap Pods, and each run also serves the Pod-level checks:
// the success story is the user's image as the base (the injector, the copier in that image), the
// failure story a failing Ansible task on a tarball base that already has Python.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { readFile, rm } from "node:fs/promises";
import { LABEL_COMPONENT } from "../../src/api/constants.js";
import { createHooks } from "../../src/hooks/index.js";
import type { KubeObject } from "../../src/hooks/types.js";
import { createLogger } from "../../src/server/logger.js";
import { startServer, type RunningServer } from "../../src/server/main.js";
import { createMetrics } from "../../src/server/metrics.js";
import { run } from "../../src/util/exec.js";
import { minbaseTarball } from "./support/minbase-tarball.js";
import {
  Cluster,
  Kubelet,
  Metacontroller,
  PARENT_TYPE,
  loadController,
  type Obj,
} from "../lifecycle/harness.js";
import {
  BUILDER_IMAGE,
  DEBIAN_IMAGE,
  ensureImages,
  kubeletStates,
  logTail,
  measuredByContainer,
  playablePod,
  podman,
  removePod,
  runPod,
  serveFile,
  tableCapabilities,
  workDirFor,
  type PlayablePod,
  type PodRun,
} from "./support/podman.js";

const NS = "default";
const OUTPUT_CLAIM = "bib-podman-lifecycle-output";

let server: RunningServer;
let cluster: Cluster;
let kubelet: Kubelet;
let mc: Metacontroller;

beforeAll(async () => {
  await ensureImages();
  await podman(["volume", "rm", "--force", OUTPUT_CLAIM]).catch(() => undefined);
  await podman(["volume", "create", OUTPUT_CLAIM]);
  cluster = new Cluster();
  kubelet = new Kubelet(cluster);
  server = await startServer({
    hooks: createHooks({ builderImage: BUILDER_IMAGE }),
    logger: createLogger("silent"),
    metrics: createMetrics(),
    port: 0,
    host: "127.0.0.1",
    clock: () => cluster.now,
  });
  mc = new Metacontroller({ cluster, controller: loadController(), endpoints: [server.url] });
});

afterAll(async () => {
  await server?.shutdown();
  await podman(["volume", "rm", "--force", OUTPUT_CLAIM]).catch(() => undefined);
});

function imageBuild(name: string, spec: Obj) {
  return { apiVersion: "bib.dev/v1alpha1", kind: "ImageBuild", metadata: { name, namespace: NS }, spec };
}

/** Creates the ImageBuild, lets the hook create its Job, runs that Job's Pod in podman. */
async function buildInPodman(name: string, spec: Obj) {
  cluster.create(imageBuild(name, spec));
  await mc.converge(NS, name);
  const job = cluster
    .list("Job.batch/v1", NS)
    .find((j) => j.metadata.labels?.[LABEL_COMPONENT] === "build" && j.metadata.name.startsWith(name))!;
  // What the kubelet would mount: the ConfigMaps and Secrets the hook created beside the Job.
  const children = [
    job,
    ...cluster.list("ConfigMap.v1", NS),
    ...cluster.list("Secret.v1", NS),
  ] as unknown as KubeObject[];
  const workDir = await workDirFor(`lifecycle-${name}`);
  const playable = await playablePod(children, workDir);
  kubelet.run(job, playable.pod.spec!.initContainers![0]!.name);
  await mc.converge(NS, name);
  const result = await runPod(playable, workDir);
  kubelet.record(job, kubeletStates(result, playable.pod.spec!.containers[0]!.name));
  cluster.tick(30);
  await mc.converge(NS, name);
  const status = cluster.get(PARENT_TYPE, NS, name)!.status as Obj;
  return { status, result, playable, workDir };
}

async function sha256(file: string): Promise<string> {
  return (await run("sha256sum", [file], { captureStdout: true })).stdout.split(" ")[0]!;
}

describe("lifecycle with Jobs run in podman: success, the user's image as the base", () => {
  const spec = {
    base: { image: DEBIAN_IMAGE },
    files: [{ path: "/etc/motd", content: "closed loop\n", mode: "0644" }],
    formats: ["tgz"],
    validate: { boot: { enabled: false } },
    publish: { volume: { claimName: OUTPUT_CLAIM } },
  };
  let outcome: { status: Obj; result: PodRun; playable: PlayablePod; workDir: string };

  beforeAll(async () => {
    outcome = await buildInPodman("podman-ok", spec);
  });

  afterAll(async () => {
    await removePod(outcome.playable);
    await rm(outcome.workDir, { recursive: true, force: true });
  });

  it("ends Succeeded with artifacts whose sha256 match the files in the workspace", async () => {
    expect(mc.syncErrors).toEqual([]);
    expect(outcome.status.phase).toBe("Succeeded");
    const artifacts = outcome.status.artifacts as Array<{ format: string; sha256: string; location: string }>;
    expect(artifacts.map((a) => a.format)).toEqual(["tgz"]);
    const file = path.join(outcome.result.workspace, "artifacts", path.basename(artifacts[0]!.location));
    expect(artifacts[0]!.sha256).toBe(await sha256(file));
    const listing = (await run("tar", ["-tzf", file], { captureStdout: true })).stdout;
    expect(listing).toMatch(/^\.\/etc\/motd$/m);
  });

  it("ran the injector, the copier in the base image, then the builder's stages, each exiting 0", () => {
    expect(outcome.result.containers.map((c) => [c.name, c.exitCode])).toEqual([
      ["inject-tools", 0],
      ["base", 0],
      ["provision", 0],
      ["package", 0],
      ["publish", 0],
    ]);
  });

  it("copied onto a workspace the base image's container saw mounted nodev", async () => {
    const mountinfo = await readFile(path.join(outcome.result.workspace, "state/base-mounts.txt"), "utf8");
    const workspace = mountinfo.split("\n").find((l) => l.split(" ")[4] === "/workspace")!;
    expect(workspace.split(" ")[5]!.split(",")).toContain("nodev");
  });

  it("gave the injector nothing and the copier only file ownership, read from inside", () => {
    const measured = measuredByContainer(outcome.result);
    expect(measured).toEqual(tableCapabilities(imageBuild("podman-ok", spec)));
    expect(measured["inject-tools"]).toEqual([]);
    expect(measured.base).toEqual(["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"]);
  });
});

describe("lifecycle with Jobs run in podman: a failing Ansible task", () => {
  let outcome: { status: Obj; result: PodRun; playable: PlayablePod; workDir: string };

  beforeAll(async () => {
    // A tarball with Python: Ansible runs at once, no package to install first.
    const tarball = await minbaseTarball();
    const served = await serveFile(tarball.file);
    outcome = await buildInPodman("podman-fails", {
      base: { tarball: { url: served.url, sha256: tarball.sha256 } },
      provisioners: [
        {
          name: "refuse",
          ansible: {
            playbook:
              "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: refuse on purpose\n      ansible.builtin.command: /bin/false\n",
          },
        },
      ],
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
    }).finally(() => served.close());
  });

  afterAll(async () => {
    await removePod(outcome.playable);
    await rm(outcome.workDir, { recursive: true, force: true });
  });

  it("fails the provision container with a log naming the task; no later stage runs", () => {
    expect(outcome.result.containers.map((c) => [c.name, c.exitCode === 0])).toEqual([
      ["base", true],
      ["provision", false],
    ]);
    const provision = outcome.result.containers.find((c) => c.name === "provision")!;
    // FallbackToLogsOnError: the kubelet's message is the log's last 80 lines or 2048 bytes.
    expect(logTail(provision.logs)).toMatch(/^provision: ansible "refuse": task "refuse on purpose" failed/m);
    expect(outcome.result.terminationMessage).toBe("");
  });

  it("ends Failed at provision with the failing task named", () => {
    expect(mc.syncErrors).toEqual([]);
    expect(outcome.status.phase).toBe("Failed");
    expect(outcome.status.stage).toBe("provision");
    // The kubelet's message is the log's tail; its JSON lines carry the error with quotes escaped.
    expect(outcome.status.message).toMatch(
      /provision: ansible \\?"refuse\\?": task \\?"refuse on purpose\\?" failed/,
    );
  });
});
