// The sync hook: (request, now) -> desired children and status. Pure and deterministic, so any
// replica answers any call the same way; time enters only where a condition changes and when a
// build is scheduled.
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import { COMPONENT_BUILD, CONDITION, PHASE } from "../api/constants.js";
import { readRecordedStatus, type RecordedStatus } from "../api/status-entries.js";
import { describeErrors, type FieldError } from "../api/validate.js";
import type { BuildPlan } from "../plan/plan.js";
import { secretDataRedactor } from "../plan/redact.js";
import { podLayout } from "../plan/stage-table.js";
import { buildState, type BuildState } from "./build-state.js";
import { mergeOutputs, statusParts } from "./build-status.js";
import { newConfigMap } from "./children/configmap.js";
import { newBuildJob, type JobNames } from "./children/job.js";
import { buildLabels } from "./children/labels.js";
import { describeMissing, newSecret, projectSecretData } from "./children/secret.js";
import { withTransitionTimes, type ConditionInput } from "./conditions.js";
import { resolveBuild, type Resolver } from "./resolve.js";
import { buildPods, findByName, objectsOf, rfc3339, TYPE } from "./observe.js";
import type { KubeObject, ObjectMap, Parent, SyncRequest, SyncResponse } from "./types.js";

export interface HookOptions {
  /** Image that runs `bib stage ...` and `bib cleanup`, unless spec.builder.image overrides it. */
  builderImage: string;
}

/** Read field by field and entry by entry: what this version cannot read is kept, never dropped. */
export function previousStatus(parent: Parent): RecordedStatus {
  return readRecordedStatus(parent.status);
}

export function secretLookup(related: ObjectMap, namespace: string) {
  const secrets = objectsOf<V1Secret>(related, TYPE.Secret).filter(
    (s) => (s.metadata?.namespace ?? namespace) === namespace,
  );
  return (name: string) => {
    const found = findByName(secrets, name);
    return found ? (found.data ?? {}) : undefined;
  };
}

export function sync(
  req: SyncRequest,
  now: Date,
  options: HookOptions,
  resolve: Resolver = resolveBuild,
): SyncResponse {
  const previous = previousStatus(req.parent);
  const { result, planDocument, tooBig } = resolve(req.parent);
  const nowText = rfc3339(now);
  if (!result.ok) return invalidSpec(result.buildId, result.errors, previous, nowText);
  if (tooBig) return invalidSpec(result.buildId, [tooBig], previous, nowText);
  return syncBuild(req, result.plan, planDocument!, previous, now, options);
}

function invalidSpec(
  buildId: string,
  errors: FieldError[],
  previous: RecordedStatus,
  now: string,
): SyncResponse {
  const message = `invalid spec: ${describeErrors(errors)}`;
  const conditions: ConditionInput[] = [
    { type: CONDITION.SpecValid, status: "False", reason: "InvalidSpec", message },
    { type: CONDITION.Ready, status: "False", reason: "InvalidSpec", message: "the spec is invalid" },
  ];
  const outputs = mergeOutputs(buildId, undefined, previous);
  return {
    status: compactStatus({
      phase: PHASE.Failed,
      buildId,
      message,
      conditions: withTransitionTimes(conditions, previous.conditions, now),
      ...outputs,
    }),
    children: [],
  };
}

function syncBuild(
  req: SyncRequest,
  plan: BuildPlan,
  planDocument: string,
  previous: RecordedStatus,
  now: Date,
  options: HookOptions,
): SyncResponse {
  const { namespace } = plan.imageBuild;
  const name = plan.buildName;
  const labels = buildLabels(plan.imageBuild.name, plan.buildId, COMPONENT_BUILD);
  const observedJob = findByName(objectsOf<V1Job>(req.children, TYPE.Job), name);
  const observedSecret = findByName(objectsOf<V1Secret>(req.children, TYPE.Secret), name);
  const pods = buildPods(req.related, plan.buildId, COMPONENT_BUILD);
  const layout = podLayout(plan);
  const projected = projectSecretData(plan.secrets, secretLookup(req.related, namespace));
  // A Secret that was projected before keeps its data when the user's Secret is gone later.
  const secretData = projected.ok ? projected.data : observedSecret?.data;
  const state = buildState({
    job: observedJob,
    pods,
    previous,
    buildId: plan.buildId,
    timeoutSeconds: plan.builder.timeoutSeconds,
    layout,
    now,
    // What the build Pod can print: the values of its Secret.
    redact: secretDataRedactor(secretData),
  });

  const names: JobNames = { job: name, configMap: name, ...(plan.secrets.length ? { secret: name } : {}) };
  const timestamp = buildTimestamp(observedJob, previous, plan.buildId, now);

  const configMap = newConfigMap(name, plan, labels, {}, planDocument);
  const secret = names.secret && secretData ? newSecret(name, namespace, labels, secretData) : undefined;
  const job = newBuildJob(
    plan,
    names,
    { builderImage: plan.builder.image ?? options.builderImage, timestamp, labels },
    layout,
  );

  const secretsBlocked = !projected.ok && state.kind === "pending";
  const specValid: ConditionInput = {
    type: CONDITION.SpecValid,
    status: "True",
    reason: "Valid",
    message: "the spec is valid",
  };
  const secretsCondition: ConditionInput = projected.ok
    ? {
        type: CONDITION.SecretsResolved,
        status: "True",
        reason: plan.secrets.length ? "Resolved" : "NoSecretsReferenced",
        message: plan.secrets.length
          ? `projected ${Object.keys(projected.data).length} key(s) into Secret ${name}`
          : "the spec references no Secrets",
      }
    : {
        type: CONDITION.SecretsResolved,
        status: "False",
        reason: projected.missing.some((m) => m.key) ? "SecretKeyNotFound" : "SecretNotFound",
        message: describeMissing(projected.missing),
      };

  const desired = desiredChildren(state, secretsBlocked, req.children, { configMap, secret, job });
  const nowText = rfc3339(now);

  if (state.kind === "recorded") {
    return { status: compactStatus({ ...previous, observedGeneration: undefined }), children: desired };
  }
  if (secretsBlocked) {
    const message = `waiting for Secrets: ${secretsCondition.message}`;
    return {
      status: compactStatus({
        phase: PHASE.Pending,
        buildId: plan.buildId,
        message,
        conditions: withTransitionTimes(
          [
            specValid,
            secretsCondition,
            { type: CONDITION.Ready, status: "False", reason: "SecretsNotResolved", message },
          ],
          previous.conditions,
          nowText,
        ),
        ...mergeOutputs(plan.buildId, undefined, previous),
      }),
      children: desired,
    };
  }
  const parts = statusParts(plan, state)!;
  return {
    status: compactStatus({
      phase: parts.phase,
      ...(parts.stage ? { stage: parts.stage } : {}),
      buildId: plan.buildId,
      startTime: rfc3339(new Date(timestamp * 1000)),
      ...(parts.completionTime ? { completionTime: parts.completionTime } : {}),
      message: parts.message,
      conditions: withTransitionTimes(
        [specValid, secretsCondition, ...parts.conditions],
        previous.conditions,
        nowText,
      ),
      ...mergeOutputs(plan.buildId, parts.result, previous),
    }),
    children: desired,
    ...(state.kind === "awaiting-result" ? { resyncAfterSeconds: 5 } : {}),
  };
}

/**
 * The build's children. A build that finished or whose Job vanished gets nothing new: only the
 * children still observed are kept (returning them unchanged), so a deleted or garbage-collected
 * Job is never created again.
 */
function desiredChildren(
  state: BuildState,
  secretsBlocked: boolean,
  observed: ObjectMap,
  rendered: { configMap: KubeObject | object; secret: object | undefined; job: object },
): KubeObject[] {
  const all = [rendered.configMap, rendered.secret, rendered.job].filter(Boolean) as KubeObject[];
  if (state.kind === "recorded" || state.kind === "lost") return all.filter((c) => isObserved(observed, c));
  if (secretsBlocked) return [rendered.configMap as KubeObject];
  return all;
}

function isObserved(observed: ObjectMap, child: KubeObject): boolean {
  const type = `${child.kind}.${child.apiVersion}`;
  return objectsOf(observed, type).some((o) => o.metadata.name === child.metadata.name);
}

/** When the build was scheduled: kept in the Job (which is never updated) and in status. */
function buildTimestamp(
  job: V1Job | undefined,
  previous: RecordedStatus,
  buildId: string,
  now: Date,
): number {
  const env = job?.spec?.template?.spec?.containers?.[0]?.env?.find(
    (e) => e.name === "BUILD_TIMESTAMP",
  )?.value;
  if (env && /^\d+$/.test(env)) return Number(env);
  if (previous.buildId === buildId && previous.startTime) {
    const t = Date.parse(previous.startTime);
    if (!Number.isNaN(t)) return Math.floor(t / 1000);
  }
  return Math.floor(now.getTime() / 1000);
}

/** No empty lists or undefined fields: status is written as the API server would store it. */
export function compactStatus(status: RecordedStatus): RecordedStatus {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out as RecordedStatus;
}
