// The build Job and the cleanup Job. Both are created once and never updated (Job pod templates
// are immutable), so everything in them must be fixed when the build is scheduled.
import type { V1Container, V1Job, V1PodSpec, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { POD_PATHS } from "../../api/constants.js";
import { bytesToQuantity } from "../../api/quantity.js";
import type { BuildPlan } from "../../plan/plan.js";
import {
  podLayout,
  type PodContainer,
  type PodLayout,
  type StageMount,
  type StageSecurity,
} from "../../plan/stage-table.js";

export interface JobNames {
  job: string;
  configMap: string;
  /** Absent when the build references no Secret. */
  secret?: string;
}

export interface BuildJobOptions {
  builderImage: string;
  /** Unix seconds when the build was scheduled; the builder's stable `{{.Timestamp}}`. */
  timestamp: number;
  labels: Record<string, string>;
}

const VOLUME = {
  workspace: "workspace",
  plan: "plan",
  secrets: "secrets",
  cache: "cache",
  output: "output",
  tmp: "tmp",
} as const;

/** Room for the tree, the sparse raw disk and one converted copy, plus slack for tgz and logs. */
export function workspaceSizeLimit(diskBytes: number): string {
  const mib = 2 ** 20;
  return bytesToQuantity(Math.ceil((3 * diskBytes + 2 * 2 ** 30) / mib) * mib);
}

function quantities(values: Record<string, string | number> | undefined): Record<string, string> | undefined {
  if (!values || Object.keys(values).length === 0) return undefined;
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

function configMapVolumeName(index: number): string {
  return `configmap-${index}`;
}

function referencedConfigMaps(plan: BuildPlan): string[] {
  const names = plan.provisioners.flatMap((p) =>
    p.type === "ansible" && p.playbook.source === "configMap" ? [p.playbook.name] : [],
  );
  return [...new Set(names)].sort();
}

function buildVolumes(plan: BuildPlan, names: JobNames): V1Volume[] {
  const volumes: V1Volume[] = [
    { name: VOLUME.workspace, emptyDir: { sizeLimit: workspaceSizeLimit(plan.disk.sizeBytes) } },
    { name: VOLUME.plan, configMap: { name: names.configMap } },
  ];
  if (names.secret)
    volumes.push({ name: VOLUME.secrets, secret: { secretName: names.secret, defaultMode: 0o400 } });
  referencedConfigMaps(plan).forEach((name, i) =>
    volumes.push({ name: configMapVolumeName(i), configMap: { name } }),
  );
  if (plan.builder.cacheClaimName) {
    volumes.push({ name: VOLUME.cache, persistentVolumeClaim: { claimName: plan.builder.cacheClaimName } });
  }
  if (plan.publish.volume) {
    volumes.push({
      name: VOLUME.output,
      persistentVolumeClaim: { claimName: plan.publish.volume.claimName },
    });
  }
  return volumes;
}

/** A stage's mounts of the volumes this plan has, in the order of its table entry. */
function stageMounts(wanted: readonly StageMount[], plan: BuildPlan, names: JobNames): V1VolumeMount[] {
  const mounts: Record<StageMount, () => V1VolumeMount[]> = {
    workspace: () => [{ name: VOLUME.workspace, mountPath: POD_PATHS.workspace }],
    plan: () => [{ name: VOLUME.plan, mountPath: POD_PATHS.plan, readOnly: true }],
    secrets: () =>
      names.secret ? [{ name: VOLUME.secrets, mountPath: POD_PATHS.secrets, readOnly: true }] : [],
    configMaps: () =>
      referencedConfigMaps(plan).map((name, i) => ({
        name: configMapVolumeName(i),
        mountPath: `${POD_PATHS.configMaps}/${name}`,
        readOnly: true,
      })),
    cache: () => (plan.builder.cacheClaimName ? [{ name: VOLUME.cache, mountPath: POD_PATHS.cache }] : []),
    output: () => (plan.publish.volume ? [{ name: VOLUME.output, mountPath: POD_PATHS.volume }] : []),
  };
  return wanted.flatMap((m) => mounts[m]());
}

/**
 * Never privileged: every capability the stage's table entry does not list is dropped.
 * allowPrivilegeEscalation stays unset unless the table sets it (Kubernetes rejects `false`
 * together with CAP_SYS_ADMIN).
 */
function securityContext(security: StageSecurity): V1Container["securityContext"] {
  return {
    privileged: false,
    ...(security.runAsRoot ? { runAsUser: 0, runAsNonRoot: false } : { runAsNonRoot: true }),
    ...(security.allowPrivilegeEscalation !== undefined
      ? { allowPrivilegeEscalation: security.allowPrivilegeEscalation }
      : {}),
    ...(security.readOnlyRootFilesystem !== undefined
      ? { readOnlyRootFilesystem: security.readOnlyRootFilesystem }
      : {}),
    capabilities: {
      drop: ["ALL"],
      ...(security.capabilities.length > 0 ? { add: [...security.capabilities] } : {}),
    },
  };
}

function stageContainer(
  stage: PodContainer,
  plan: BuildPlan,
  names: JobNames,
  options: BuildJobOptions,
): V1Container {
  const requests = quantities(plan.builder.resources?.requests);
  const limits = quantities(plan.builder.resources?.limits);
  return {
    name: stage.name,
    image: stage.image === "builder" ? options.builderImage : baseImage(plan),
    command: stage.command,
    env: [
      { name: "BUILD_TIMESTAMP", value: String(options.timestamp) },
      { name: "BIB_BUILD_ID", value: plan.buildId },
    ],
    ...(requests || limits
      ? { resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } }
      : {}),
    securityContext: securityContext(stage.security),
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: stageMounts(stage.mounts, plan, names),
  };
}

function baseImage(plan: BuildPlan): string {
  if (plan.base.type !== "image") throw new Error("a base-image container needs spec.base.image");
  return plan.base.image;
}

/**
 * Build and cleanup Pods run once and never talk to the API server: the build reports through its
 * termination message, so neither gets a token or the Service environment variables.
 */
const ISOLATED_POD = {
  restartPolicy: "Never",
  automountServiceAccountToken: false,
  enableServiceLinks: false,
} as const satisfies Partial<V1PodSpec>;

function schedulingFields(plan: BuildPlan): Partial<V1PodSpec> {
  const { nodeSelector, tolerations, serviceAccountName } = plan.builder;
  return {
    ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
    ...(tolerations.length ? { tolerations } : {}),
    ...(serviceAccountName ? { serviceAccountName } : {}),
  };
}

export function newBuildJob(
  plan: BuildPlan,
  names: JobNames,
  options: BuildJobOptions,
  layout: PodLayout = podLayout(plan),
): V1Job {
  const labels = { ...options.labels };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: names.job, namespace: plan.imageBuild.namespace, labels },
    spec: {
      backoffLimit: plan.builder.retries,
      activeDeadlineSeconds: plan.builder.timeoutSeconds,
      template: {
        metadata: { labels },
        spec: {
          ...ISOLATED_POD,
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          // A user namespace of its own: the stages' SYS_ADMIN is no longer root on the node.
          ...(plan.builder.hostUsers === false ? { hostUsers: false } : {}),
          ...schedulingFields(plan),
          initContainers: layout.init.map((c) => stageContainer(c, plan, names, options)),
          containers: [stageContainer(layout.main, plan, names, options)],
          volumes: buildVolumes(plan, names),
        },
      },
    },
  };
}

/** Retries with the Job controller's own exponential backoff until cleanup succeeds. */
export const CLEANUP_BACKOFF_LIMIT = 1000;

export function newCleanupJob(
  plan: BuildPlan,
  names: JobNames,
  builderImage: string,
  labels: Record<string, string>,
): V1Job {
  const mounts: V1VolumeMount[] = [
    { name: VOLUME.plan, mountPath: POD_PATHS.plan, readOnly: true },
    { name: VOLUME.tmp, mountPath: "/tmp" },
  ];
  const volumes: V1Volume[] = [
    { name: VOLUME.plan, configMap: { name: names.configMap } },
    { name: VOLUME.tmp, emptyDir: {} },
  ];
  if (names.secret) {
    mounts.push({ name: VOLUME.secrets, mountPath: POD_PATHS.secrets, readOnly: true });
    volumes.push({ name: VOLUME.secrets, secret: { secretName: names.secret, defaultMode: 0o440 } });
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: names.job, namespace: plan.imageBuild.namespace, labels },
    spec: {
      backoffLimit: CLEANUP_BACKOFF_LIMIT,
      template: {
        metadata: { labels },
        spec: {
          ...ISOLATED_POD,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          ...schedulingFields(plan),
          containers: [
            {
              name: "cleanup",
              image: builderImage,
              command: ["bib", "cleanup"],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              terminationMessagePolicy: "FallbackToLogsOnError",
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}
