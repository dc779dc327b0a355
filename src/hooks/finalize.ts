// The finalize hook: with deletionPolicy Delete, published AMIs, snapshots and objects are removed
// by a cleanup Job before Metacontroller may drop its finalizer; `finalized` is true only once the
// observed Job shows that cleanup succeeded.
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import { COMPONENT_CLEANUP, PHASE } from "../api/constants.js";
import { cleanupPlan } from "../api/status-entries.js";
import { describeErrors } from "../api/validate.js";
import { childName } from "../plan/names.js";
import { secretDataRedactor } from "../plan/redact.js";
import { CLEANUP_FILE, newConfigMap } from "./children/configmap.js";
import { newCleanupJob, type JobNames } from "./children/job.js";
import { buildLabels } from "./children/labels.js";
import { describeMissing, newSecret, projectSecretData } from "./children/secret.js";
import {
  buildPods,
  findByName,
  jobOutcome,
  objectsOf,
  podFailure,
  summarizeMessage,
  TYPE,
} from "./observe.js";
import { dataBytes, MAX_CONFIGMAP_BYTES, resolveBuild, type Resolver } from "./resolve.js";
import { compactStatus, previousStatus, secretLookup, type HookOptions } from "./sync.js";
import type { KubeObject, SyncRequest, SyncResponse } from "./types.js";

function deletionPolicy(spec: unknown): string {
  const value = (spec as { deletionPolicy?: unknown } | undefined)?.deletionPolicy;
  return value === "Delete" ? "Delete" : "Retain";
}

export function finalize(
  req: SyncRequest,
  _now: Date,
  options: HookOptions,
  resolve: Resolver = resolveBuild,
): SyncResponse {
  const previous = previousStatus(req.parent);
  const { observedGeneration: _og, ...kept } = previous;
  const deleting = (message: string) => compactStatus({ ...kept, phase: PHASE.Deleting, message });
  const { targets, unidentified } = cleanupPlan(previous);
  const count = targets.artifacts.length + targets.images.length;
  // Never finalized while status names something this version cannot delete: it would be orphaned.
  const unread = unidentified.length
    ? `cannot clean up what ${unidentified.join(", ")} names: this version cannot read ${unidentified.length === 1 ? "it" : "them"}; run a bib version that can, or remove the finalizer to keep ${unidentified.length === 1 ? "it" : "them"}`
    : "";
  const notIdentified = unread && `; ${unread}`;

  if (deletionPolicy(req.parent.spec) !== "Delete") {
    return {
      status: deleting("deletionPolicy is Retain: published images and objects are kept"),
      children: [],
      finalized: true,
    };
  }
  if (count === 0 && !notIdentified)
    return { status: deleting("nothing was published; nothing to delete"), children: [], finalized: true };
  if (count === 0) return { status: deleting(unread), children: [], finalized: false };

  const resolved = resolve(req.parent).result;
  if (!resolved.ok) {
    return {
      status: deleting(
        `cannot clean up ${count} published item(s): invalid spec: ${describeErrors(resolved.errors)}; fix the spec, or remove the finalizer to keep them`,
      ),
      children: [],
      finalized: false,
    };
  }
  const plan = resolved.plan;
  const { namespace } = plan.imageBuild;
  const name = childName(plan.imageBuild.name, plan.buildId, "-cleanup");
  const labels = buildLabels(plan.imageBuild.name, plan.buildId, COMPONENT_CLEANUP);
  const observedJob = findByName(objectsOf<V1Job>(req.children, TYPE.Job), name);
  if (observedJob && jobOutcome(observedJob).outcome === "Complete") {
    return {
      status: deleting(`deleted ${count} published item(s)${notIdentified}`),
      children: [],
      finalized: !notIdentified,
    };
  }

  // Only publishing credentials: cleanup never needs a playbook's secret variables.
  const credentials = plan.secrets.filter((s) => !s.file.startsWith("provisioner-"));
  const projected = projectSecretData(credentials, secretLookup(req.related, namespace));
  const observedSecrets = objectsOf<V1Secret>(req.children, TYPE.Secret);
  const buildSecret = findByName(observedSecrets, plan.buildName);
  const cleanupSecret = findByName(observedSecrets, name);
  const data = projected.ok
    ? projected.data
    : (cleanupSecret?.data ??
      pick(
        buildSecret?.data,
        credentials.map((c) => c.file),
      ));
  // `data` is only missing when the projection failed.
  if (!projected.ok && credentials.length && !data) {
    return {
      status: deleting(`cannot clean up ${count} published item(s): ${describeMissing(projected.missing)}`),
      children: [],
      finalized: false,
    };
  }

  const names: JobNames = { job: name, configMap: name, ...(credentials.length ? { secret: name } : {}) };
  const configMap = newConfigMap(name, { ...plan, assets: {} }, labels, {
    [CLEANUP_FILE]: `${JSON.stringify(targets)}\n`,
  });
  // The API server refuses a ConfigMap over 1 MiB: say so rather than ask for one forever.
  const bytes = dataBytes(configMap.data ?? {});
  if (bytes > MAX_CONFIGMAP_BYTES) {
    return {
      status: deleting(
        `cannot clean up ${count} published item(s): the list takes ${Math.ceil(bytes / 1024)} KiB, more than the cleanup Job's ConfigMap holds (${MAX_CONFIGMAP_BYTES / 1024} KiB); delete them by hand, or remove the finalizer to keep them${notIdentified}`,
      ),
      children: [],
      finalized: false,
    };
  }
  const children: KubeObject[] = [configMap as KubeObject];
  if (names.secret && data) children.push(newSecret(name, namespace, labels, data) as KubeObject);
  children.push(
    newCleanupJob(plan, names, plan.builder.image ?? options.builderImage, labels) as unknown as KubeObject,
  );

  const failures = buildPods(req.related, plan.buildId, COMPONENT_CLEANUP)
    .map((pod) => podFailure(pod))
    .filter((f) => f !== undefined);
  const last = failures.at(-1);
  const message = last
    ? `cleanup failed (attempt ${failures.length}): ${summarizeMessage(last.message && secretDataRedactor(data)(last.message)) ?? `exit code ${last.exitCode}`}; retrying`
    : `deleting ${count} published item(s)`;
  return { status: deleting(`${message}${notIdentified}`), children, finalized: false };
}

function pick(data: Record<string, string> | undefined, keys: string[]): Record<string, string> | undefined {
  if (!data) return undefined;
  const picked = Object.fromEntries(keys.filter((k) => Object.hasOwn(data, k)).map((k) => [k, data[k]!]));
  return Object.keys(picked).length ? picked : undefined;
}
