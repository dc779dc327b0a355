// Builders for ImageBuilds and Metacontroller requests in the exact wire format, shared by the
// hook tests, property tests and benchmarks.
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { syncRequestSchema, type KubeObject, type SyncRequest } from "../../src/hooks/types.js";

export const BUILDER_IMAGE = "registry.test/bib/builder:test";

export const minimalSpec = { base: { debootstrap: { suite: "bookworm" } } };

export function imageBuild(
  spec: unknown = minimalSpec,
  meta: { name?: string; namespace?: string; annotations?: Record<string, string>; generation?: number } = {},
  status?: unknown,
) {
  return {
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: {
      name: meta.name ?? "debian",
      namespace: meta.namespace ?? "images",
      uid: "5f0c8d6e-0000-4000-8000-000000000001",
      generation: meta.generation ?? 1,
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
    },
    spec,
    ...(status ? { status } : {}),
  };
}

export type HookVersion = "v1" | "v2";

/** Metacontroller's `Kind.apiVersion` -> key -> object map; v1 keys by name, v2 by namespace/name. */
export function objectMap(
  objects: object[],
  version: HookVersion = "v1",
): Record<string, Record<string, object>> {
  const map: Record<string, Record<string, object>> = {};
  for (const o of objects as KubeObject[]) {
    const type = `${o.kind}.${o.apiVersion}`;
    const key = version === "v2" ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
    (map[type] ??= {})[key] = o;
  }
  return map;
}

export function syncRequest(
  parent: object,
  children: object[] = [],
  related: object[] = [],
  options: { version?: HookVersion; finalizing?: boolean } = {},
): SyncRequest {
  const version = options.version ?? "v1";
  const childMap = {
    "ConfigMap.v1": {},
    "Secret.v1": {},
    "Job.batch/v1": {},
    ...objectMap(children, version),
  };
  return syncRequestSchema.parse({
    controller: { apiVersion: "metacontroller.k8s.io/v1alpha1", kind: "CompositeController" },
    parent,
    children: childMap,
    related: objectMap(related, version),
    finalizing: options.finalizing ?? false,
  });
}

export function secret(name: string, data: Record<string, string>, namespace = "images") {
  const encoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
  );
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, type: "Opaque", data: encoded };
}

type ContainerState =
  { running: true } | { waiting: true } | { exitCode: number; message?: string; reason?: string };

/** A Pod of `job` whose containers (init containers first, then main) are in the given states. */
export function podOf(
  job: V1Job,
  states: Record<string, ContainerState>,
  suffix = "abcde",
  created = "2026-11-23T10:00:00Z",
): V1Pod {
  const spec = job.spec!.template.spec!;
  const status = (name: string) => {
    const s = states[name] ?? { waiting: true };
    const state =
      "running" in s
        ? { running: { startedAt: created } }
        : "waiting" in s
          ? { waiting: { reason: "PodInitializing" } }
          : {
              terminated: {
                exitCode: s.exitCode,
                reason: s.reason ?? (s.exitCode === 0 ? "Completed" : "Error"),
                ...(s.message !== undefined ? { message: s.message } : {}),
              },
            };
    return { name, image: "x", imageID: "", ready: false, restartCount: 0, state };
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${job.metadata!.name}-${suffix}`,
      namespace: job.metadata!.namespace,
      labels: { ...job.spec!.template.metadata!.labels, "job-name": job.metadata!.name! },
      creationTimestamp: created as unknown as Date,
    },
    spec: spec,
    status: {
      initContainerStatuses: (spec.initContainers ?? []).map((c) => status(c.name)),
      containerStatuses: spec.containers.map((c) => status(c.name)),
    },
  } as V1Pod;
}

export function withJobStatus(
  job: V1Job,
  condition?: "Complete" | "Failed",
  extra: { reason?: string; time?: string } = {},
): V1Job {
  const time = extra.time ?? "2026-11-23T10:05:00Z";
  return {
    ...job,
    status: condition
      ? {
          conditions: [
            {
              type: condition,
              status: "True",
              ...(extra.reason ? { reason: extra.reason } : {}),
              lastTransitionTime: time as unknown as Date,
            },
          ],
          ...(condition === "Complete" ? { completionTime: time as unknown as Date } : {}),
          startTime: "2026-11-23T10:00:00Z" as unknown as Date,
        }
      : { active: 1, startTime: "2026-11-23T10:00:00Z" as unknown as Date },
  };
}
