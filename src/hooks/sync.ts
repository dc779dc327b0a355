// The sync hook: (request, now) -> desired children and status. Pure and deterministic, so any
// replica answers any call the same way; time enters only where a condition changes and when a
// build is scheduled.
import type { V1Job, V1Secret } from "@kubernetes/client-node";
import { COMPONENT_BUILD, CONDITION, PHASE, REASON } from "../api/constants.js";
import type { RecordedStatus } from "../api/status-entries.js";
import { describeErrors, type FieldError } from "../api/validate.js";
import type { BuildPlan } from "../plan/plan.js";
import { secretDataRedactor } from "../plan/redact.js";
import { podLayout, type PodLayout } from "../plan/stage-table.js";
import { buildState, type BuildState } from "./build-state.js";
import { mergeOutputs, statusParts, type StatusParts } from "./build-status.js";
import { newConfigMap } from "./children/configmap.js";
import { newBuildJob, type JobNames } from "./children/job.js";
import { buildLabels } from "./children/labels.js";
import { describeMissing, newSecret, projectSecretData, type ProjectedSecret } from "./children/secret.js";
import { withTransitionTimes, type ConditionInput } from "./conditions.js";
import { resolveBuild, type Resolver } from "./resolve.js";
import { buildPods, findByName, objectsOf, rfc3339, secretLookup, TYPE } from "./observe.js";
import { compactStatus, previousStatus } from "./status.js";
import type { HookOptions, KubeObject, ObjectMap, SyncRequest, SyncResponse } from "./types.js";

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
    { type: CONDITION.SpecValid, status: "False", reason: REASON.InvalidSpec, message },
    { type: CONDITION.Ready, status: "False", reason: REASON.InvalidSpec, message: "the spec is invalid" },
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
  const layout = podLayout(plan);
  const observed = observedChildren(req, plan);
  const secrets = buildSecrets(req, plan, observed.secret);
  const state = buildState({
    job: observed.job,
    pods: buildPods(req.related, plan.buildId, COMPONENT_BUILD),
    previous,
    buildId: plan.buildId,
    timeoutSeconds: plan.builder.timeoutSeconds,
    layout,
    now,
    // What the build Pod can print: the values of its Secret.
    redact: secretDataRedactor(secrets.data),
  });
  const timestamp = buildTimestamp(observed.job, previous, plan.buildId, now);
  const rendered = renderedChildren(plan, planDocument, secrets.data, timestamp, layout, options);
  const secretsBlocked = !secrets.projected.ok && state.kind === "pending";
  const children = desiredChildren(state, secretsBlocked, req.children, rendered);

  if (state.kind === "recorded") {
    return { status: compactStatus({ ...previous, observedGeneration: undefined }), children };
  }
  const secretsCondition = secretsResolved(plan, secrets.projected);
  if (secretsBlocked) return { status: waitingForSecrets(plan, secretsCondition, previous, now), children };
  return {
    status: buildStatus(plan, statusParts(plan, state)!, timestamp, secretsCondition, previous, now),
    children,
    ...(state.kind === "awaiting-result" ? { resyncAfterSeconds: 5 } : {}),
  };
}

/** The build's Job and Secret as Metacontroller observed them. */
function observedChildren(req: SyncRequest, plan: BuildPlan) {
  return {
    job: findByName(objectsOf<V1Job>(req.children, TYPE.Job), plan.buildName),
    secret: findByName(objectsOf<V1Secret>(req.children, TYPE.Secret), plan.buildName),
  };
}

/** The keys the build needs from the user's Secrets, and the data its own Secret holds. */
function buildSecrets(req: SyncRequest, plan: BuildPlan, observedSecret: V1Secret | undefined) {
  const projected = projectSecretData(plan.secrets, secretLookup(req.related, plan.imageBuild.namespace));
  // A Secret that was projected before keeps its data when the user's Secret is gone later.
  const data = projected.ok ? projected.data : observedSecret?.data;
  return { projected, data };
}

interface RenderedChildren {
  configMap: KubeObject | object;
  secret: object | undefined;
  job: object;
}

function renderedChildren(
  plan: BuildPlan,
  planDocument: string,
  secretData: Record<string, string> | undefined,
  timestamp: number,
  layout: PodLayout,
  options: HookOptions,
): RenderedChildren {
  const name = plan.buildName;
  const labels = buildLabels(plan.imageBuild.name, plan.buildId, COMPONENT_BUILD);
  const names: JobNames = { job: name, configMap: name, ...(plan.secrets.length ? { secret: name } : {}) };
  const { namespace } = plan.imageBuild;
  return {
    configMap: newConfigMap(name, plan, labels, {}, planDocument),
    secret: names.secret && secretData ? newSecret(name, namespace, labels, secretData) : undefined,
    job: newBuildJob(
      plan,
      names,
      { builderImage: plan.builder.image ?? options.builderImage, timestamp, labels },
      layout,
    ),
  };
}

const SPEC_VALID: ConditionInput = {
  type: CONDITION.SpecValid,
  status: "True",
  reason: REASON.Valid,
  message: "the spec is valid",
};

function secretsResolved(plan: BuildPlan, projected: ProjectedSecret): ConditionInput {
  if (!projected.ok) {
    return {
      type: CONDITION.SecretsResolved,
      status: "False",
      reason: projected.missing.some((m) => m.key) ? REASON.SecretKeyNotFound : REASON.SecretNotFound,
      message: describeMissing(projected.missing),
    };
  }
  return {
    type: CONDITION.SecretsResolved,
    status: "True",
    reason: plan.secrets.length ? REASON.Resolved : REASON.NoSecretsReferenced,
    message: plan.secrets.length
      ? `projected ${Object.keys(projected.data).length} key(s) into Secret ${plan.buildName}`
      : "the spec references no Secrets",
  };
}

/** A build whose Secrets are missing before its Job exists waits for them. */
function waitingForSecrets(
  plan: BuildPlan,
  secretsCondition: ConditionInput,
  previous: RecordedStatus,
  now: Date,
): RecordedStatus {
  const message = `waiting for Secrets: ${secretsCondition.message}`;
  const ready: ConditionInput = {
    type: CONDITION.Ready,
    status: "False",
    reason: REASON.SecretsNotResolved,
    message,
  };
  return compactStatus({
    phase: PHASE.Pending,
    buildId: plan.buildId,
    message,
    conditions: withTransitionTimes([SPEC_VALID, secretsCondition, ready], previous.conditions, rfc3339(now)),
    ...mergeOutputs(plan.buildId, undefined, previous),
  });
}

function buildStatus(
  plan: BuildPlan,
  parts: StatusParts,
  timestamp: number,
  secretsCondition: ConditionInput,
  previous: RecordedStatus,
  now: Date,
): RecordedStatus {
  return compactStatus({
    phase: parts.phase,
    ...(parts.stage ? { stage: parts.stage } : {}),
    buildId: plan.buildId,
    startTime: rfc3339(new Date(timestamp * 1000)),
    ...(parts.completionTime ? { completionTime: parts.completionTime } : {}),
    message: parts.message,
    conditions: withTransitionTimes(
      [SPEC_VALID, secretsCondition, ...parts.conditions],
      previous.conditions,
      rfc3339(now),
    ),
    ...mergeOutputs(plan.buildId, parts.result, previous),
  });
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
  rendered: RenderedChildren,
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
