// Reading what Metacontroller observed: children and related objects by type, whichever hook
// version keyed them (v1: name, v2: namespace/name), and the build Pod's container states.
import type { V1ContainerStatus, V1Job, V1Pod, V1Secret } from "@kubernetes/client-node";
import { LABEL_BUILD_ID, LABEL_COMPONENT, type Stage } from "../api/constants.js";
import { stageOfContainer, type PodLayout } from "../plan/stage-table.js";
import type { KubeObject, ObjectMap } from "./types.js";

export const TYPE = {
  Job: "Job.batch/v1",
  ConfigMap: "ConfigMap.v1",
  Secret: "Secret.v1",
  Pod: "Pod.v1",
} as const;

/** The objects of one type, whatever the map's keys are (the object's own metadata is the truth). */
export function objectsOf<T = KubeObject>(map: ObjectMap, type: string): T[] {
  return Object.values(Object.hasOwn(map, type) ? (map[type] ?? {}) : {}) as T[];
}

export function findByName<T extends { metadata?: { name?: string } }>(
  objects: T[],
  name: string,
): T | undefined {
  return objects.find((o) => o.metadata?.name === name);
}

export function buildPods(related: ObjectMap, buildId: string, component: string): V1Pod[] {
  return objectsOf<V1Pod>(related, TYPE.Pod)
    .filter((p) => p.metadata?.labels?.[LABEL_BUILD_ID] === buildId)
    .filter((p) => p.metadata?.labels?.[LABEL_COMPONENT] === component)
    .sort(byCreation);
}

/** The user's Secrets Metacontroller observed in `namespace`, by name: their data, or undefined. */
export function secretLookup(related: ObjectMap, namespace: string) {
  const secrets = objectsOf<V1Secret>(related, TYPE.Secret).filter(
    (s) => (s.metadata?.namespace ?? namespace) === namespace,
  );
  return (name: string) => {
    const found = findByName(secrets, name);
    return found ? (found.data ?? {}) : undefined;
  };
}

function byCreation(a: V1Pod, b: V1Pod): number {
  const ta = String(a.metadata?.creationTimestamp ?? "");
  const tb = String(b.metadata?.creationTimestamp ?? "");
  return ta === tb ? String(a.metadata?.name).localeCompare(String(b.metadata?.name)) : ta < tb ? -1 : 1;
}

export type JobOutcome = "Running" | "Complete" | "Failed";

export function jobOutcome(job: V1Job): {
  outcome: JobOutcome;
  reason?: string;
  message?: string;
  time?: string;
} {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== "True") continue;
    if (c.type === "Complete") return { outcome: "Complete", time: timeString(c.lastTransitionTime) };
    if (c.type === "Failed") {
      return {
        outcome: "Failed",
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.message ? { message: c.message } : {}),
        time: timeString(c.lastTransitionTime),
      };
    }
  }
  return { outcome: "Running" };
}

export function timeString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return rfc3339(value);
  return String(value);
}

/** Kubernetes stores metav1.Time with second precision; emitting the same keeps status stable. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function statusesInOrder(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/** The stage the build Pod is at: the first container that has not finished successfully. */
export function podStage(pod: V1Pod, layout: PodLayout): Stage | undefined {
  for (const status of statusesInOrder(pod)) {
    const terminated = status.state?.terminated;
    if (terminated && terminated.exitCode === 0) continue;
    return stageOfContainer(layout, status.name);
  }
  return undefined;
}

export interface ContainerFailure {
  stage: Stage | undefined;
  container: string;
  exitCode: number;
  reason?: string;
  message?: string;
}

/** The first container that failed; its stage when `layout` (the build Pod's) names it. */
export function podFailure(pod: V1Pod, layout?: PodLayout): ContainerFailure | undefined {
  for (const status of statusesInOrder(pod)) {
    const t = status.state?.terminated ?? status.lastState?.terminated;
    if (t && t.exitCode !== 0) {
      return {
        stage: layout && stageOfContainer(layout, status.name),
        container: status.name,
        exitCode: t.exitCode,
        ...(t.reason ? { reason: t.reason } : {}),
        ...(t.message ? { message: t.message } : {}),
      };
    }
  }
  return undefined;
}

/** The termination message of the Pod's main container once it has exited successfully. */
export function successMessage(pod: V1Pod, container: string): string | undefined {
  const status = (pod.status?.containerStatuses ?? []).find((s) => s.name === container);
  const terminated = status?.state?.terminated;
  return terminated && terminated.exitCode === 0 ? (terminated.message ?? "") : undefined;
}

/** The builder writes one line; a log tail (FallbackToLogsOnError) is cut to its last lines. */
export function summarizeMessage(message: string | undefined, max = 1024): string | undefined {
  const lines = (message ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return undefined;
  const text = lines.slice(-3).join(" | ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
