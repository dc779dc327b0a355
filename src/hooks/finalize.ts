// The finalize hook: with deletionPolicy Delete, published AMIs, snapshots and objects are removed
// by a cleanup Job before Metacontroller may drop its finalizer; `finalized` is true only once the
// observed Job shows that cleanup succeeded.
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import { COMPONENT_CLEANUP, PHASE } from "../api/constants.js";
import { cleanupPlan, type RecordedStatus } from "../api/status-entries.js";
import { describeErrors } from "../api/validate.js";
import { childName } from "../plan/names.js";
import type { BuildPlan } from "../plan/plan.js";
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
  secretLookup,
  summarizeMessage,
  TYPE,
} from "./observe.js";
import { dataBytes, MAX_CONFIGMAP_BYTES, resolveBuild, type Resolver } from "./resolve.js";
import { compactStatus, previousStatus } from "./status.js";
import type { HookOptions, KubeObject, SyncRequest, SyncResponse } from "./types.js";

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
  const deleting = deletingStatus(previous);
  const published = publishedItems(previous);
  const { count, notIdentified } = published;
  if (deletionPolicy(req.parent.spec) !== "Delete") {
    return finished(deleting("deletionPolicy is Retain: published images and objects are kept"));
  }
  if (count === 0 && !notIdentified) return finished(deleting("nothing was published; nothing to delete"));
  if (count === 0) return waiting(deleting(published.unread));

  const resolved = resolve(req.parent).result;
  if (!resolved.ok) {
    return waiting(
      deleting(
        `cannot clean up ${count} published item(s): invalid spec: ${describeErrors(resolved.errors)}; fix the spec, or remove the finalizer to keep them`,
      ),
    );
  }
  const plan = resolved.plan;
  const name = childName(plan.imageBuild.name, plan.buildId, "-cleanup");
  if (cleanupSucceeded(req, name)) {
    return {
      status: deleting(`deleted ${count} published item(s)${notIdentified}`),
      children: [],
      finalized: !notIdentified,
    };
  }
  const credentials = cleanupCredentials(req, plan, name);
  if (!credentials.ok) {
    return waiting(deleting(`cannot clean up ${count} published item(s): ${credentials.missing}`));
  }
  const children = cleanupChildren(plan, name, published.targets, credentials, options);
  if (!children.ok) {
    return waiting(
      deleting(
        `cannot clean up ${count} published item(s): the list takes ${Math.ceil(children.bytes / 1024)} KiB, more than the cleanup Job's ConfigMap holds (${MAX_CONFIGMAP_BYTES / 1024} KiB); delete them by hand, or remove the finalizer to keep them${notIdentified}`,
      ),
    );
  }
  const message = `${cleanupProgress(req, plan, count, credentials.data)}${notIdentified}`;
  return { status: deleting(message), children: children.children, finalized: false };
}

/** Status while deleting: the recorded status with phase Deleting and the message given. */
function deletingStatus(previous: RecordedStatus) {
  const { observedGeneration: _og, ...kept } = previous;
  return (message: string) => compactStatus({ ...kept, phase: PHASE.Deleting, message });
}

const finished = (status: RecordedStatus): SyncResponse => ({ status, children: [], finalized: true });
const waiting = (status: RecordedStatus): SyncResponse => ({ status, children: [], finalized: false });

/** What status says was published, and what of it this version cannot read (never finalized then). */
function publishedItems(previous: RecordedStatus) {
  const { targets, unidentified } = cleanupPlan(previous);
  const count = targets.artifacts.length + targets.images.length;
  // Never finalized while status names something this version cannot delete: it would be orphaned.
  const unread = unidentified.length
    ? `cannot clean up what ${unidentified.join(", ")} names: this version cannot read ${unidentified.length === 1 ? "it" : "them"}; run a bib version that can, or remove the finalizer to keep ${unidentified.length === 1 ? "it" : "them"}`
    : "";
  return { targets, count, unread, notIdentified: unread && `; ${unread}` };
}

function cleanupSucceeded(req: SyncRequest, name: string): boolean {
  const observedJob = findByName(objectsOf<V1Job>(req.children, TYPE.Job), name);
  return observedJob !== undefined && jobOutcome(observedJob).outcome === "Complete";
}

interface Credentials {
  /** Whether the plan publishes with credentials at all (then the cleanup Job gets a Secret). */
  needed: boolean;
  data: Record<string, string> | undefined;
}
type CleanupCredentials = ({ ok: true } & Credentials) | { ok: false; missing: string };

/**
 * Only publishing credentials: cleanup never needs a playbook's secret variables. When the user's
 * Secret is gone, the cleanup Secret or the build's Secret still holds them.
 */
function cleanupCredentials(req: SyncRequest, plan: BuildPlan, name: string): CleanupCredentials {
  const credentials = plan.secrets.filter((s) => !s.file.startsWith("provisioner-"));
  const needed = credentials.length > 0;
  const projected = projectSecretData(credentials, secretLookup(req.related, plan.imageBuild.namespace));
  if (projected.ok) return { ok: true, needed, data: projected.data };
  const observedSecrets = objectsOf<V1Secret>(req.children, TYPE.Secret);
  const data =
    findByName(observedSecrets, name)?.data ??
    pick(
      findByName(observedSecrets, plan.buildName)?.data,
      credentials.map((c) => c.file),
    );
  // `data` is only missing when the projection failed.
  if (needed && !data) return { ok: false, missing: describeMissing(projected.missing) };
  return { ok: true, needed, data };
}

/** The cleanup Job, its ConfigMap (plan and targets) and Secret; refused when the ConfigMap would be too big. */
function cleanupChildren(
  plan: BuildPlan,
  name: string,
  targets: ReturnType<typeof cleanupPlan>["targets"],
  { needed, data }: Credentials,
  options: HookOptions,
): { ok: true; children: KubeObject[] } | { ok: false; bytes: number } {
  const labels = buildLabels(plan.imageBuild.name, plan.buildId, COMPONENT_CLEANUP);
  const names: JobNames = { job: name, configMap: name, ...(needed ? { secret: name } : {}) };
  const configMap = newConfigMap(name, { ...plan, assets: {} }, labels, {
    [CLEANUP_FILE]: `${JSON.stringify(targets)}\n`,
  });
  // The API server refuses a ConfigMap over 1 MiB: say so rather than ask for one forever.
  const bytes = dataBytes(configMap.data ?? {});
  if (bytes > MAX_CONFIGMAP_BYTES) return { ok: false, bytes };
  const children: KubeObject[] = [configMap as KubeObject];
  if (names.secret && data)
    children.push(newSecret(name, plan.imageBuild.namespace, labels, data) as KubeObject);
  children.push(
    newCleanupJob(plan, names, plan.builder.image ?? options.builderImage, labels) as unknown as KubeObject,
  );
  return { ok: true, children };
}

/** What the cleanup Job's Pods say so far: the last failure (redacted), or that it is deleting. */
function cleanupProgress(
  req: SyncRequest,
  plan: BuildPlan,
  count: number,
  data: Record<string, string> | undefined,
): string {
  const failures = buildPods(req.related, plan.buildId, COMPONENT_CLEANUP)
    .map((pod) => podFailure(pod))
    .filter((f) => f !== undefined);
  const last = failures.at(-1);
  return last
    ? `cleanup failed (attempt ${failures.length}): ${summarizeMessage(last.message && secretDataRedactor(data)(last.message)) ?? `exit code ${last.exitCode}`}; retrying`
    : `deleting ${count} published item(s)`;
}

function pick(data: Record<string, string> | undefined, keys: string[]): Record<string, string> | undefined {
  if (!data) return undefined;
  const picked = Object.fromEntries(keys.filter((k) => Object.hasOwn(data, k)).map((k) => [k, data[k]!]));
  return Object.keys(picked).length ? picked : undefined;
}
