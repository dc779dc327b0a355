// Runs the build Pod the operator renders in a real container runtime: `podman kube play` reads our
// Pod spec (init containers in order, the emptyDir, ConfigMap volumes, env, securityContext). Where
// podman 4.3 is not a kubelet, this module does what the kubelet would, and says so at each place.
import type { V1Job, V1Pod, V1Volume } from "@kubernetes/client-node";
import { spawnSync } from "node:child_process";
import { closeSync, createReadStream, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { POD_PATHS } from "../../../src/api/constants.js";
import { createHooks } from "../../../src/hooks/index.js";
import { syncRequestSchema, type KubeObject } from "../../../src/hooks/types.js";
import { resolvePlan } from "../../../src/plan/plan.js";
import { podLayout } from "../../../src/plan/stage-table.js";
import { capabilityNames } from "../../../src/util/capabilities.js";
import { run } from "../../../src/util/exec.js";
import type { RealContainerState } from "../../lifecycle/harness.js";
import { REPO } from "./bib-cli.js";

/** The tags scripts/images.sh builds (it reads the same variables: one machine, several checkouts). */
export const BUILDER_IMAGE = process.env.BIB_BUILDER_IMAGE_TAG || "localhost/bib-builder:dev";
export const OPERATOR_IMAGE = process.env.BIB_OPERATOR_IMAGE_TAG || "localhost/bib-operator:dev";
/** The Debian 12 image scripts/images.sh imports: a local OCI image for the image base. */
export const DEBIAN_IMAGE = "localhost/bib-debian:12";

let imagesBuilt: Promise<void> | undefined;

/**
 * scripts/images.sh once per test process: with every layer cached it only checks that the images
 * are up to date with the sources (about 40 s). scripts/test.sh builds them before the tests and
 * says so with BIB_IMAGES_BUILT=1.
 */
export function ensureImages(): Promise<void> {
  if (process.env.BIB_IMAGES_BUILT === "1") return Promise.resolve();
  imagesBuilt ??= run("bash", [path.join(REPO, "scripts/images.sh")], { captureStdout: false }).then(
    () => undefined,
  );
  return imagesBuilt;
}

export async function podman(args: readonly string[]): Promise<string> {
  return (await run("podman", [...args], { captureStdout: true })).stdout;
}

/** The children the operator's sync hook creates for a new ImageBuild (as `bib render` does). */
export function renderChildren(
  imageBuild: Record<string, unknown>,
  secrets: KubeObject[] = [],
): KubeObject[] {
  const hooks = createHooks({ builderImage: BUILDER_IMAGE });
  const related = Object.fromEntries(secrets.map((s) => [s.metadata!.name!, s]));
  const request = syncRequestSchema.parse({
    parent: imageBuild,
    children: {},
    related: { "Secret.v1": related },
  });
  return hooks.sync(request, new Date()).children;
}

export interface PlayablePod {
  /** The YAML `podman kube play` reads: the ConfigMaps, then the Pod. */
  yaml: string;
  pod: V1Pod;
  /** Host file mounted at the main container's terminationMessagePath. */
  terminationLog: string;
}

const INIT_TYPE_ANNOTATION = "io.podman.annotations.init.container.type";

/**
 * The Job's Pod template as a Pod podman runs. Four things the kubelet does and podman 4.3 does
 * not are done here:
 * - Secret volumes: podman crashes on a `secret:` volume without `optional`, and with it leaves
 *   the values base64-encoded. The kubelet decodes them, so the Secret is written out decoded, with
 *   the volume's defaultMode, and mounted as a host directory.
 * - terminationMessagePath: the kubelet mounts a file there and reads it after the container
 *   exits; a host file is mounted the same way.
 * - Init containers stay after they exit (podman removes them unless annotated), so that their
 *   exit codes and logs can be read, as the kubelet keeps their states in the Pod status.
 * - emptyDir volumes are the Pod's own: podman 4.3 makes a named volume called after the Pod's
 *   volume, which two Pods alive at once would share, so each is renamed `<pod>-<volume>`.
 */
export async function playablePod(children: KubeObject[], workDir: string): Promise<PlayablePod> {
  const job = children.find((c) => c.kind === "Job") as unknown as V1Job;
  const spec = structuredClone(job.spec!.template.spec!);
  const name = job.metadata!.name!;
  const secrets = children.filter((c) => c.kind === "Secret");
  const volumes: V1Volume[] = [];
  for (const v of spec.volumes ?? []) {
    if (v.emptyDir) {
      const own = `${name}-${v.name}`;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers])
        for (const m of c.volumeMounts ?? []) if (m.name === v.name) m.name = own;
      volumes.push({ ...v, name: own });
      continue;
    }
    if (!v.secret) {
      volumes.push(v);
      continue;
    }
    const secret = secrets.find((s) => s.metadata!.name === v.secret!.secretName)!;
    const dir = path.join(workDir, "secret-volumes", v.name);
    await mkdir(dir, { recursive: true });
    for (const [key, value] of Object.entries((secret.data ?? {}) as Record<string, string>)) {
      await writeFile(path.join(dir, key), Buffer.from(value, "base64"), {
        mode: v.secret.defaultMode ?? 0o644,
      });
    }
    volumes.push({ name: v.name, hostPath: { path: dir, type: "Directory" } });
  }
  const terminationLog = path.join(workDir, "termination-log");
  // As the kubelet makes it: 0666 whatever the umask, so that any uid in the container (also root
  // of a user namespace, which does not own a file of the node's root) can write it.
  await writeFile(terminationLog, "");
  await chmod(terminationLog, 0o666);
  volumes.push({ name: "termination-log", hostPath: { path: terminationLog, type: "File" } });
  const main = spec.containers[0]!;
  main.volumeMounts = [
    ...(main.volumeMounts ?? []),
    { name: "termination-log", mountPath: main.terminationMessagePath ?? POD_PATHS.terminationLog },
  ];
  spec.volumes = volumes;
  const pod: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: job.spec!.template.metadata?.labels ?? {},
      // podman 4.3 reads this one annotation for all init containers (later releases also read
      // `<annotation>/<container name>`, which 4.3 ignores).
      annotations: { [INIT_TYPE_ANNOTATION]: "always" },
    },
    spec,
  };
  const configMaps = children.filter((c) => c.kind === "ConfigMap");
  const yaml = [...configMaps, pod].map((d) => stringify(d, { aliasDuplicateObjects: false })).join("---\n");
  return { yaml, pod, terminationLog };
}

export interface ContainerRun {
  name: string;
  exitCode: number;
  logs: string;
  /** From start to exit, as the runtime recorded them. */
  seconds: number;
  startedAt: string;
  finishedAt: string;
}

export interface PodRun {
  containers: ContainerRun[];
  terminationMessage: string;
  /** The workspace volume's directory on this host ("" once podman removed it). */
  workspace: string;
  /** Why `podman kube play` failed (it fails when an init container does). */
  playError?: string;
  seconds: number;
}

async function containerRun(pod: string, name: string): Promise<ContainerRun | undefined> {
  const id = `${pod}-${name}`;
  const inspected = await podman(["inspect", "--type", "container", "--format", "json", id]).catch(
    () => undefined,
  );
  if (inspected === undefined) return undefined;
  const state = (
    JSON.parse(inspected) as Array<{
      State: { Status: string; ExitCode: number; StartedAt: string; FinishedAt: string };
    }>
  )[0]!.State;
  // A container that never started (a stage after a failed one) has no exit to report.
  if (state.Status === "created" || state.Status === "configured") return undefined;
  const logs = containerLogs(id);
  const seconds = (Date.parse(state.FinishedAt) - Date.parse(state.StartedAt)) / 1000;
  const startedAt = new Date(state.StartedAt).toISOString();
  const finishedAt = new Date(state.FinishedAt).toISOString();
  return { name, exitCode: state.ExitCode, logs, seconds, startedAt, finishedAt };
}

/** stdout and stderr interleaved as they were written, as the kubelet's log file holds them. */
function containerLogs(id: string): string {
  const file = path.join(os.tmpdir(), `bib-podman-logs-${process.pid}-${id}`);
  const fd = openSync(file, "w");
  try {
    spawnSync("podman", ["logs", id], { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  const logs = readFileSync(file, "utf8");
  rmSync(file, { force: true });
  return logs;
}

/** Removes a Pod of that name and the volumes podman made for it (named after the Pod's volumes). */
export async function removePod(playable: PlayablePod): Promise<void> {
  const name = playable.pod.metadata!.name!;
  // podman 4.3 may still hold a just-exited container's shm mount (EBUSY on unlinkat): try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await podman(["pod", "rm", "--force", "--ignore", name]);
      break;
    } catch (error) {
      if (attempt >= 5 || !/device or resource busy/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
  for (const v of playable.pod.spec!.volumes ?? []) {
    const named = v.emptyDir ? v.name : v.configMap ? v.configMap.name : undefined;
    if (named) await podman(["volume", "rm", "--force", named]).catch(() => undefined);
  }
}

/**
 * The kubelet gives a `hostUsers: false` Pod 65536 ids of its own (uid 0 to 65535 inside, as a
 * Debian root's owners need: nobody is 65534). podman 4.3 plays such a Pod with `--userns=auto`,
 * whose default size is only 1024 ids (chown to uid 1024 and above fails with EINVAL), so the size
 * the kubelet uses is asked for, unless a test asks for another.
 */
export const KUBELET_USERNS_IDS = 65536;
function userNamespaceArgs(pod: V1Pod, ids = KUBELET_USERNS_IDS): string[] {
  return pod.spec!.hostUsers === false ? [`--userns=auto:size=${ids}`] : [];
}

export interface RunOptions {
  /** How many ids a `hostUsers: false` Pod's namespace maps (default: the kubelet's). */
  userNamespaceIds?: number;
}

/** Plays the Pod (on podman's own Pod network, as a kubelet would) and waits for it to end. */
export async function runPod(
  playable: PlayablePod,
  workDir: string,
  options: RunOptions = {},
): Promise<PodRun> {
  const name = playable.pod.metadata!.name!;
  const file = path.join(workDir, "pod.yaml");
  await writeFile(file, playable.yaml);
  await removePod(playable);
  const started = performance.now();
  // kube play runs the init containers in order before it returns; a failing one fails it.
  const played = await run(
    "podman",
    ["kube", "play", ...userNamespaceArgs(playable.pod, options.userNamespaceIds), file],
    {
      captureStdout: true,
    },
  ).catch((error: Error) => error);
  const main = playable.pod.spec!.containers[0]!.name;
  if (!(played instanceof Error)) await podman(["wait", `${name}-${main}`]).catch(() => undefined);
  const seconds = (performance.now() - started) / 1000;
  const names = [...(playable.pod.spec!.initContainers ?? []), ...playable.pod.spec!.containers].map(
    (c) => c.name,
  );
  const containers: ContainerRun[] = [];
  for (const n of names) {
    const r = await containerRun(name, n);
    if (r) containers.push(r);
  }
  const workspaceVolume = playable.pod.spec!.volumes!.find((v) => v.emptyDir)!.name;
  const workspace = (
    await podman(["volume", "inspect", "--format", "{{.Mountpoint}}", workspaceVolume])
  ).trim();
  const terminationMessage = await readFile(playable.terminationLog, "utf8");
  const playError = played instanceof Error ? played.message : undefined;
  return { containers, terminationMessage, workspace, seconds, ...(playError ? { playError } : {}) };
}

export async function workDirFor(prefix: string): Promise<string> {
  return mkdtemp(`/var/tmp/bib-podman-${prefix}-`);
}

/**
 * The containers' ends as the kubelet reports them in the Pod status: the main container's
 * message is its termination message file; a failed container's (FallbackToLogsOnError) is its
 * log's last 80 lines or 2048 bytes.
 */
export function kubeletStates(result: PodRun, main: string): RealContainerState[] {
  return result.containers.map((c) => {
    const message =
      c.name === main && result.terminationMessage !== ""
        ? result.terminationMessage
        : c.exitCode !== 0
          ? logTail(c.logs)
          : undefined;
    return {
      name: c.name,
      exitCode: c.exitCode,
      ...(message ? { message } : {}),
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
    };
  });
}

export function logTail(logs: string): string {
  return logs.trim().split("\n").slice(-80).join("\n").slice(-2048);
}

/**
 * Serves one file over HTTP at the address of podman's default network on this host, which the
 * Pods reach through their bridge: a tarball base at a real http:// URL, as a user would give it.
 */
export async function serveFile(file: string): Promise<{ url: string; close: () => Promise<void> }> {
  const network = JSON.parse(await podman(["network", "inspect", "podman"])) as Array<{
    subnets: Array<{ gateway: string }>;
  }>;
  const host = network[0]!.subnets[0]!.gateway;
  const server = createServer((req, res) => {
    if (req.url !== `/${path.basename(file)}`) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/${path.basename(file)}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The first JSON log line of a container that has `field` (what `bib stage` logs when it starts). */
export function loggedField<T>(logs: string, field: string): T | undefined {
  for (const line of logs.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (field in entry) return entry[field] as T;
  }
  return undefined;
}

/**
 * Capability names a container read from its own /proc/self/status: `bib stage` logs them first,
 * the copier in the base image prints its CapEff line.
 */
export function measuredCapabilities(logs: string): string[] {
  const capEff = /^CapEff:\s+([0-9a-f]+)/m.exec(logs);
  if (capEff) return capabilityNames(capEff[1]!).sort();
  const logged = loggedField<string[]>(logs, "capabilities");
  if (!logged) throw new Error(`no capabilities in the log:\n${logs.slice(0, 2000)}`);
  return [...logged].sort();
}

/** Each container's capabilities as the stage table declares them for this ImageBuild's plan. */
export function tableCapabilities(imageBuild: Parameters<typeof resolvePlan>[0]): Record<string, string[]> {
  const resolved = resolvePlan(imageBuild);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const { init, main } = podLayout(resolved.plan);
  return Object.fromEntries([...init, main].map((c) => [c.name, [...c.security.capabilities].sort()]));
}

/** What each container that ran measured, by name. */
export function measuredByContainer(result: PodRun): Record<string, string[]> {
  return Object.fromEntries(result.containers.map((c) => [c.name, measuredCapabilities(c.logs)]));
}

/** Whether the workspace was mounted `nodev` where the container ran (it logs the mount's options). */
export function sawNodevWorkspace(logs: string): boolean {
  return loggedField<string[]>(logs, "workspaceMount")?.includes("nodev") ?? false;
}
