// A stand-in for Metacontroller (CompositeController) and the bits of Kubernetes the stories need:
// an in-memory object store with owner-reference garbage collection, a Job controller that makes
// Pods, and a kubelet the test drives (init containers in order, termination messages, failures).
//
// It is as strict as the real thing about the webhook contract (Metacontroller docs: api/hook.md,
// api/compositecontroller.md, pkg/controller/composite): it reads the real
// metacontroller/compositecontroller.yaml, calls the service over real HTTP, sends children and
// related objects keyed `Kind.apiVersion` -> name (v1) or namespace/name (v2), deletes observed
// children missing from a 200, honours each child type's updateStrategy, replaces the parent's
// status wholesale (setting observedGeneration), keeps its finalizer until `finalized: true`, and
// rejects (changing nothing) any answer Metacontroller would reject.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { imageBuildStatusSchema } from "../../src/api/schema.js";
import { repoRoot } from "./kustomize-lite.js";

// Objects are free-form JSON here, exactly as they travel over the wire.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;
export type HookVersion = "v1" | "v2";
type UpdateMethod = "OnDelete" | "Recreate" | "InPlace";

export const CONTROLLER_PATH = join(repoRoot, "metacontroller/compositecontroller.yaml");
export const PARENT_TYPE = "ImageBuild.bib.dev/v1alpha1";

/** `resource` plural -> Kind, for the resources the controller and customize rules name. */
const KINDS: Record<string, string> = {
  "v1/configmaps": "ConfigMap",
  "v1/secrets": "Secret",
  "v1/pods": "Pod",
  "batch/v1/jobs": "Job",
  "bib.dev/v1alpha1/imagebuilds": "ImageBuild",
};
const typeOf = (o: Obj) => `${o.kind}.${o.apiVersion}`;
const clone = <T>(v: T): T => structuredClone(v);

export class HookRejected extends Error {
  override name = "HookRejected";
}

/** The CompositeController from the repo, with an optional hook version override for tests. */
export function loadController(opts: { version?: HookVersion } = {}): Obj {
  const cc = parse(readFileSync(CONTROLLER_PATH, "utf8")) as Obj;
  if (cc.kind !== "CompositeController") throw new Error(`${CONTROLLER_PATH}: not a CompositeController`);
  if (opts.version)
    for (const hook of Object.values(cc.spec.hooks ?? {}) as Obj[]) hook.version = opts.version;
  return cc;
}

// --------------------------------------------------------------------------------------------
// The API server: an object store with uids, resourceVersions, finalizers and garbage collection.

export class Cluster {
  now = new Date("2026-11-23T10:00:00Z");
  /** Bumped on every write: a reconcile pass that leaves it alone changed nothing. */
  version = 0;
  readonly events: string[] = [];
  private readonly objects = new Map<string, Obj>();
  private uids = 0;
  private readonly onCreate: Array<(o: Obj) => void> = [];

  tick(seconds: number) {
    this.now = new Date(this.now.getTime() + seconds * 1000);
  }
  timestamp() {
    return this.now.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  watchCreate(fn: (o: Obj) => void) {
    this.onCreate.push(fn);
  }
  private key(type: string, ns: string | undefined, name: string) {
    return `${type}|${ns ?? ""}/${name}`;
  }
  get(type: string, ns: string | undefined, name: string): Obj | undefined {
    const o = this.objects.get(this.key(type, ns, name));
    return o && clone(o);
  }
  list(type: string, ns?: string): Obj[] {
    return [...this.objects.values()]
      .filter((o) => typeOf(o) === type && (ns === undefined || o.metadata.namespace === ns))
      .map(clone);
  }
  all(): Obj[] {
    return [...this.objects.values()].map(clone);
  }

  create(input: Obj): Obj {
    const o = clone(input);
    const k = this.key(typeOf(o), o.metadata.namespace, o.metadata.name);
    if (this.objects.has(k)) throw new Error(`409 AlreadyExists: ${k}`);
    o.metadata.uid = `uid-${++this.uids}`;
    o.metadata.creationTimestamp = this.timestamp();
    o.metadata.resourceVersion = String(++this.version);
    if (o.kind === "ImageBuild") o.metadata.generation = 1;
    // The API server stores Secret stringData as base64 data.
    if (o.kind === "Secret" && o.stringData) {
      o.data = { ...o.data };
      for (const [key, v] of Object.entries(o.stringData as Record<string, string>)) o.data[key] = b64(v);
      delete o.stringData;
    }
    this.objects.set(k, o);
    this.events.push(`create ${typeOf(o)} ${o.metadata.name}`);
    for (const fn of this.onCreate) fn(clone(o));
    return clone(o);
  }

  /** A full update; spec changes of an ImageBuild bump its generation as the API server does. */
  update(input: Obj, opts: { status?: boolean } = {}): Obj {
    const k = this.key(typeOf(input), input.metadata.namespace, input.metadata.name);
    const old = this.objects.get(k);
    if (!old) throw new Error(`404 NotFound: ${k}`);
    const o = clone(input);
    if (o.kind === "Job" && !isDeepStrictEqual(o.spec?.template, old.spec?.template)) {
      throw new Error(`422 Invalid: Job ${o.metadata.name}: spec.template: field is immutable`);
    }
    if (opts.status) {
      o.spec = old.spec;
      o.metadata = old.metadata;
    } else if (o.kind === "ImageBuild") {
      o.status = old.status;
      o.metadata.generation = old.metadata.generation + (isDeepStrictEqual(o.spec, old.spec) ? 0 : 1);
    }
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    o.metadata.resourceVersion = String(++this.version);
    this.objects.set(k, o);
    this.events.push(`update ${typeOf(o)} ${o.metadata.name}${opts.status ? " status" : ""}`);
    return clone(o);
  }

  /** Delete with background propagation: finalizers hold the object, dependents are collected. */
  delete(type: string, ns: string | undefined, name: string): void {
    const k = this.key(type, ns, name);
    const o = this.objects.get(k);
    if (!o) return;
    if (o.metadata.finalizers?.length) {
      if (!o.metadata.deletionTimestamp) {
        o.metadata.deletionTimestamp = this.timestamp();
        o.metadata.resourceVersion = String(++this.version);
        this.events.push(`terminating ${type} ${name}`);
      }
      return;
    }
    this.objects.delete(k);
    this.version++;
    this.events.push(`delete ${type} ${name}`);
    for (const dep of [...this.objects.values()]) {
      if (dep.metadata.ownerReferences?.some((r: Obj) => r.uid === o.metadata.uid)) {
        this.delete(typeOf(dep), dep.metadata.namespace, dep.metadata.name);
      }
    }
  }
}

export const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

// --------------------------------------------------------------------------------------------
// The Job controller and a kubelet driven by the test.

export interface Artifact {
  format: string;
  size: number;
  sha256: string;
  location: string;
}

/** A container's end as a real runtime (podman) reported it. */
export interface RealContainerState {
  name: string;
  exitCode: number;
  /** The termination message, or the log's tail for FallbackToLogsOnError. */
  message?: string;
  startedAt: string;
  finishedAt: string;
}

export class Kubelet {
  private pods = 0;
  constructor(private readonly cluster: Cluster) {
    cluster.watchCreate((o) => {
      if (o.kind === "Job") this.startPod(o);
    });
  }

  job(name: string, ns: string): Obj {
    const job = this.cluster.get("Job.batch/v1", ns, name);
    if (!job) throw new Error(`no Job ${ns}/${name}`);
    return job;
  }

  podsOf(job: Obj): Obj[] {
    return this.cluster
      .list("Pod.v1", job.metadata.namespace)
      .filter((p) => p.metadata.labels?.["controller-uid"] === job.metadata.uid)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, "en", { numeric: true }));
  }

  currentPod(job: Obj): Obj {
    const pod = this.podsOf(job).at(-1);
    if (!pod) throw new Error(`Job ${job.metadata.name} has no Pod`);
    return pod;
  }

  /** The Job controller: a Pod from the template, labelled as batch/v1 labels them. */
  private startPod(job: Obj) {
    const template = job.spec.template;
    const spec = template.spec;
    const waiting = (c: Obj) => ({
      name: c.name,
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: "PodInitializing" } },
    });
    this.cluster.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${job.metadata.name}-${(++this.pods).toString(36).padStart(5, "0")}`,
        namespace: job.metadata.namespace,
        labels: {
          ...template.metadata?.labels,
          "controller-uid": job.metadata.uid,
          "job-name": job.metadata.name,
          "batch.kubernetes.io/controller-uid": job.metadata.uid,
          "batch.kubernetes.io/job-name": job.metadata.name,
        },
        ownerReferences: [
          {
            apiVersion: "batch/v1",
            kind: "Job",
            name: job.metadata.name,
            uid: job.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: clone(spec),
      status: {
        phase: "Pending",
        initContainerStatuses: (spec.initContainers ?? []).map(waiting),
        containerStatuses: (spec.containers ?? []).map(waiting),
      },
    });
    const fresh = this.cluster.get("Job.batch/v1", job.metadata.namespace, job.metadata.name)!;
    fresh.status = {
      ...fresh.status,
      active: 1,
      startTime: fresh.status?.startTime ?? this.cluster.timestamp(),
    };
    this.cluster.update(fresh, { status: true });
  }

  private containerOrder(
    pod: Obj,
  ): Array<{ list: "initContainerStatuses" | "containerStatuses"; i: number; name: string }> {
    return [
      ...pod.status.initContainerStatuses.map((s: Obj, i: number) => ({
        list: "initContainerStatuses" as const,
        i,
        name: s.name,
      })),
      ...pod.status.containerStatuses.map((s: Obj, i: number) => ({
        list: "containerStatuses" as const,
        i,
        name: s.name,
      })),
    ];
  }

  /**
   * Moves the current Pod of `job` so that every container before `container` terminated with
   * exit code 0 and `container` is in `state`.
   */
  private setState(job: Obj, container: string, state: Obj, phase: string): Obj {
    const pod = this.currentPod(job);
    const order = this.containerOrder(pod);
    const at = order.findIndex((c) => c.name === container);
    if (at < 0)
      throw new Error(
        `Pod ${pod.metadata.name} has no container ${container} (has ${order.map((c) => c.name).join(", ")})`,
      );
    const t = this.cluster.timestamp();
    order.forEach((c, idx) => {
      const s = pod.status[c.list][c.i];
      if (idx < at)
        s.state = { terminated: { exitCode: 0, reason: "Completed", startedAt: t, finishedAt: t } };
      else if (idx === at) s.state = state;
      else s.state = { waiting: { reason: "PodInitializing" } };
    });
    pod.status.phase = phase;
    this.cluster.update(pod, { status: true });
    return pod;
  }

  /** `container` (an init container or the main one) is running. */
  run(job: Obj, container: string) {
    this.setState(job, container, { running: { startedAt: this.cluster.timestamp() } }, "Running");
  }

  /** Every container succeeded; the main container wrote `result` to its termination message. */
  succeed(job: Obj, result: { artifacts?: Artifact[]; images?: Obj[] } = {}) {
    const main = job.spec.template.spec.containers[0].name;
    const message = JSON.stringify({ artifacts: result.artifacts ?? [], images: result.images ?? [] });
    if (Buffer.byteLength(message) > 4096) throw new Error("termination message over 4096 bytes");
    const t = this.cluster.timestamp();
    this.setState(
      job,
      main,
      { terminated: { exitCode: 0, reason: "Completed", message, startedAt: t, finishedAt: t } },
      "Succeeded",
    );
    this.jobSucceeded(job, t);
  }

  /**
   * The states a real runtime reported for the current Pod's containers (in order; those that
   * never ran are absent): written into the Pod status as the kubelet would, then the Job
   * controller's verdict.
   */
  record(job: Obj, states: readonly RealContainerState[]) {
    const pod = this.currentPod(job);
    const byName = new Map(states.map((s) => [s.name, s]));
    for (const c of this.containerOrder(pod)) {
      const real = byName.get(c.name);
      pod.status[c.list][c.i].state = real
        ? {
            terminated: {
              exitCode: real.exitCode,
              reason: real.exitCode === 0 ? "Completed" : "Error",
              ...(real.message ? { message: real.message } : {}),
              startedAt: real.startedAt,
              finishedAt: real.finishedAt,
            },
          }
        : { waiting: { reason: "PodInitializing" } };
    }
    const main = job.spec.template.spec.containers[0].name;
    const succeeded = byName.get(main)?.exitCode === 0 && states.every((s) => s.exitCode === 0);
    pod.status.phase = succeeded ? "Succeeded" : "Failed";
    this.cluster.update(pod, { status: true });
    const t = this.cluster.timestamp();
    if (succeeded) this.jobSucceeded(job, t);
    else this.jobFailed(job, t);
  }

  private jobSucceeded(job: Obj, t: string) {
    const fresh = this.job(job.metadata.name, job.metadata.namespace);
    fresh.status = {
      ...fresh.status,
      active: 0,
      succeeded: 1,
      completionTime: t,
      conditions: [
        { type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached", lastTransitionTime: t },
        { type: "Complete", status: "True", reason: "CompletionsReached", lastTransitionTime: t },
      ],
    };
    this.cluster.update(fresh, { status: true });
  }

  /**
   * The TTL-after-finished controller: deletes finished Jobs whose ttlSecondsAfterFinished has
   * passed. Returns the names it deleted.
   */
  expireFinishedJobs(): string[] {
    const deleted: string[] = [];
    for (const job of this.cluster.list("Job.batch/v1")) {
      const ttl = job.spec.ttlSecondsAfterFinished;
      const done = (job.status?.conditions ?? []).find(
        (c: Obj) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      );
      if (ttl === undefined || !done) continue;
      if (Date.parse(done.lastTransitionTime) + ttl * 1000 <= this.cluster.now.getTime()) {
        this.cluster.delete("Job.batch/v1", job.metadata.namespace, job.metadata.name);
        deleted.push(job.metadata.name);
      }
    }
    return deleted;
  }

  /** `container` exits 1 with `message`; the Job retries (a new Pod) until backoffLimit is exceeded. */
  fail(job: Obj, container: string, message: string) {
    const t = this.cluster.timestamp();
    this.setState(
      job,
      container,
      { terminated: { exitCode: 1, reason: "Error", message, startedAt: t, finishedAt: t } },
      "Failed",
    );
    this.jobFailed(job, t);
  }

  private jobFailed(job: Obj, t: string) {
    const fresh = this.job(job.metadata.name, job.metadata.namespace);
    const failed = (fresh.status?.failed ?? 0) + 1;
    const limit = fresh.spec.backoffLimit ?? 6;
    if (failed > limit) {
      fresh.status = {
        ...fresh.status,
        active: 0,
        failed,
        conditions: [
          {
            type: "FailureTarget",
            status: "True",
            reason: "BackoffLimitExceeded",
            message: "Job has reached the specified backoff limit",
            lastTransitionTime: t,
          },
          {
            type: "Failed",
            status: "True",
            reason: "BackoffLimitExceeded",
            message: "Job has reached the specified backoff limit",
            lastTransitionTime: t,
          },
        ],
      };
      this.cluster.update(fresh, { status: true });
    } else {
      fresh.status = { ...fresh.status, failed };
      this.cluster.update(fresh, { status: true });
      this.startPod(fresh);
    }
  }
}

// --------------------------------------------------------------------------------------------
// Metacontroller.

export interface MetacontrollerOptions {
  cluster: Cluster;
  controller: Obj;
  /** Base URLs of hook service replicas; calls go round-robin, as through a Service. */
  endpoints: string[];
  token?: string;
}

interface HookCall {
  hook: string;
  endpoint: string;
  request: Obj;
  status: number;
  response: unknown;
}

export class Metacontroller {
  readonly calls: HookCall[] = [];
  /** Errors Metacontroller would log as SyncError events (the parent is left as it was). */
  readonly syncErrors: string[] = [];
  /** Contract breaches Metacontroller would not notice but that break the operator's promises. */
  readonly violations: string[] = [];
  private next = 0;
  private readonly customizeCache = new Map<string, Obj[]>();
  private readonly childMethods: Map<string, UpdateMethod>;

  constructor(private readonly opts: MetacontrollerOptions) {
    const spec = opts.controller.spec;
    if (!spec?.hooks?.sync?.webhook) throw new Error("CompositeController without a sync hook");
    if (spec.generateSelector !== true) throw new Error("this harness models generateSelector: true");
    this.childMethods = new Map(
      (spec.childResources as Obj[]).map((c) => {
        const kind = KINDS[`${c.apiVersion}/${c.resource}`];
        if (!kind) throw new Error(`unknown child resource ${c.apiVersion}/${c.resource}`);
        const method = (c.updateStrategy?.method ?? "OnDelete") as UpdateMethod;
        if (!["OnDelete", "Recreate", "InPlace"].includes(method))
          throw new Error(`unsupported method ${method}`);
        return [`${kind}.${c.apiVersion}`, method];
      }),
    );
  }

  get cluster() {
    return this.opts.cluster;
  }
  private get spec() {
    return this.opts.controller.spec;
  }
  private version(hook: string): HookVersion {
    return (this.spec.hooks[hook]?.version ?? "v1") as HookVersion;
  }
  get finalizerName() {
    return `metacontroller.io/compositecontroller-${this.opts.controller.metadata.name}`;
  }

  private async call(hook: string, body: Obj): Promise<Obj> {
    const webhook = this.spec.hooks[hook].webhook;
    const endpoint = this.opts.endpoints[this.next++ % this.opts.endpoints.length]!;
    const timeoutMs = Number(/^(\d+)s$/.exec(webhook.timeout ?? "10s")?.[1] ?? 10) * 1000;
    const res = await fetch(`${endpoint}${webhook.path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    this.calls.push({ hook, endpoint, request: body, status: res.status, response: parsed ?? text });
    // Only 200 is success; anything else is retried later with backoff and changes nothing.
    if (res.status !== 200) throw new HookRejected(`${hook}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new HookRejected(`${hook}: response is not a JSON object`);
    }
    return parsed as Obj;
  }

  /** Map of `Kind.apiVersion` -> key -> object, keyed as the hook version says. */
  private objectMap(objects: Obj[], hook: string, types: string[]): Obj {
    const v2 = this.version(hook) === "v2";
    const map: Obj = Object.fromEntries(types.map((t) => [t, {}]));
    for (const o of objects) {
      const type = typeOf(o);
      map[type] ??= {};
      map[type][v2 ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name] = o;
    }
    return map;
  }

  private async relatedRules(parent: Obj): Promise<Obj[]> {
    if (!this.spec.hooks.customize) return [];
    // Metacontroller caches the answer per parent uid and generation.
    const key = `${parent.metadata.uid}/${parent.metadata.generation}`;
    const cached = this.customizeCache.get(key);
    if (cached) return cached;
    const res = await this.call("customize", { controller: this.opts.controller, parent });
    const unknown = Object.keys(res).filter((k) => k !== "relatedResources");
    if (this.version("customize") === "v2" && unknown.length)
      throw new HookRejected(`customize: unknown field(s) ${unknown.join(", ")}`);
    const rules = (res.relatedResources ?? []) as Obj[];
    if (!Array.isArray(rules)) throw new HookRejected("customize: relatedResources is not a list");
    for (const r of rules) {
      if (!r.apiVersion || !r.resource)
        throw new HookRejected("customize: a rule without apiVersion or resource");
      if (r.labelSelector && r.names)
        throw new HookRejected("customize: labelSelector and names are exclusive");
    }
    this.customizeCache.set(key, rules);
    return rules;
  }

  private related(parent: Obj, rules: Obj[], hook: string): Obj {
    const objects: Obj[] = [];
    const types: string[] = [];
    for (const rule of rules) {
      const kind = KINDS[`${rule.apiVersion}/${rule.resource}`];
      if (!kind) throw new HookRejected(`customize: unknown resource ${rule.apiVersion}/${rule.resource}`);
      const type = `${kind}.${rule.apiVersion}`;
      types.push(type);
      const ns = rule.namespace ?? parent.metadata.namespace;
      // With v1 hooks a namespaced parent sees related objects of its own namespace only.
      if (this.version(hook) === "v1" && ns !== parent.metadata.namespace) continue;
      for (const o of this.cluster.list(type, ns)) {
        const match = rule.names
          ? (rule.names as string[]).includes(o.metadata.name)
          : Object.entries((rule.labelSelector?.matchLabels ?? {}) as Record<string, string>).every(
              ([k, v]) => o.metadata.labels?.[k] === v,
            );
        if (match) objects.push(o);
      }
    }
    return this.objectMap(objects, hook, types);
  }

  private ownedChildren(parent: Obj): Obj[] {
    return [...this.childMethods.keys()].flatMap((type) =>
      this.cluster
        .list(type, parent.metadata.namespace)
        .filter((o) =>
          o.metadata.ownerReferences?.some((r: Obj) => r.uid === parent.metadata.uid && r.controller),
        ),
    );
  }

  /** One reconcile of one parent, as Metacontroller's sync loop does it. */
  async reconcile(ns: string, name: string, opts: { staleParent?: Obj } = {}): Promise<void> {
    let parent = this.cluster.get(PARENT_TYPE, ns, name);
    if (!parent) return;
    // A stale informer cache: the request carries an older copy of the parent (its status
    // included). Children are still applied; the status write then fails on its resourceVersion.
    const stale =
      opts.staleParent && opts.staleParent.metadata.resourceVersion !== parent.metadata.resourceVersion;
    if (opts.staleParent) parent = clone(opts.staleParent);
    const hasFinalize = Boolean(this.spec.hooks.finalize);
    const finalizing = Boolean(parent.metadata.deletionTimestamp);
    if (finalizing && !parent.metadata.finalizers?.includes(this.finalizerName)) return;
    if (!finalizing && hasFinalize && !stale && !parent.metadata.finalizers?.includes(this.finalizerName)) {
      parent.metadata.finalizers = [...(parent.metadata.finalizers ?? []), this.finalizerName];
      parent = this.cluster.update(parent);
    }
    const hook = finalizing && hasFinalize ? "finalize" : "sync";
    try {
      const rules = await this.relatedRules(parent);
      const observed = this.ownedChildren(parent);
      const request = {
        controller: this.opts.controller,
        parent,
        children: this.objectMap(observed, hook, [...this.childMethods.keys()]),
        related: this.related(parent, rules, hook),
        finalizing,
      };
      const response = await this.call(hook, request);
      const desired = this.validate(hook, parent, response);
      this.applyChildren(parent, observed, desired);
      if (stale)
        throw new HookRejected(`409 Conflict: status update of ${ns}/${name}: the object has been modified`);
      this.updateStatus(parent, response.status);
      if (finalizing && response.finalized === true) {
        const fresh = this.cluster.get(PARENT_TYPE, ns, name)!;
        fresh.metadata.finalizers = fresh.metadata.finalizers.filter((f: string) => f !== this.finalizerName);
        this.cluster.update(fresh);
        if (!fresh.metadata.finalizers.length) this.cluster.delete(PARENT_TYPE, ns, name);
      }
      this.checkSecrets();
    } catch (err) {
      if (!(err instanceof HookRejected)) throw err;
      this.syncErrors.push(err.message);
      throw err;
    }
  }

  /** Rejects what Metacontroller rejects; returns the desired children. */
  private validate(hook: string, parent: Obj, res: Obj): Obj[] {
    const known = ["status", "children", "resyncAfterSeconds", "finalized"];
    const unknown = Object.keys(res).filter((k) => !known.includes(k));
    if (this.version(hook) === "v2" && unknown.length)
      throw new HookRejected(`${hook}: unknown field(s) ${unknown.join(", ")}`);
    if (
      res.status !== undefined &&
      (typeof res.status !== "object" || res.status === null || Array.isArray(res.status))
    ) {
      throw new HookRejected(`${hook}: status is not an object`);
    }
    if (res.resyncAfterSeconds !== undefined && typeof res.resyncAfterSeconds !== "number")
      throw new HookRejected(`${hook}: resyncAfterSeconds is not a number`);
    if (res.finalized !== undefined && typeof res.finalized !== "boolean")
      throw new HookRejected(`${hook}: finalized is not a boolean`);
    if (res.children !== undefined && res.children !== null && !Array.isArray(res.children))
      throw new HookRejected(`${hook}: children is not a list`);
    const children = (res.children ?? []) as Obj[];
    const seen = new Set<string>();
    for (const c of children) {
      if (!c?.apiVersion || !c.kind || !c.metadata?.name)
        throw new HookRejected(`${hook}: a child without apiVersion, kind or metadata.name`);
      const type = typeOf(c);
      if (!this.childMethods.has(type))
        throw new HookRejected(`${hook}: ${type} is not a child resource of this controller`);
      if (c.metadata.namespace !== undefined && c.metadata.namespace !== parent.metadata.namespace) {
        throw new HookRejected(
          `${hook}: child ${c.metadata.name} is in namespace ${c.metadata.namespace}, not the parent's`,
        );
      }
      const id = `${type}/${c.metadata.name}`;
      if (seen.has(id)) throw new HookRejected(`${hook}: duplicate child ${id}`);
      seen.add(id);
    }
    // The API server prunes status fields the CRD does not declare, so the next sync sees a diff.
    const parsed = imageBuildStatusSchema.strict().safeParse(res.status ?? {});
    if (!parsed.success)
      this.violations.push(
        `${hook}: status does not match the CRD: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    return children;
  }

  private applyChildren(parent: Obj, observed: Obj[], desired: Obj[]) {
    const ns = parent.metadata.namespace;
    const wanted = new Set(desired.map((c) => `${typeOf(c)}/${c.metadata.name}`));
    for (const o of observed) {
      if (!wanted.has(`${typeOf(o)}/${o.metadata.name}`)) this.cluster.delete(typeOf(o), ns, o.metadata.name);
    }
    for (const d of desired) {
      const type = typeOf(d);
      const child = clone(d);
      child.metadata.namespace = ns;
      // generateSelector: Metacontroller labels children with the parent's uid and owns them.
      child.metadata.labels = { ...child.metadata.labels, "controller-uid": parent.metadata.uid };
      child.metadata.ownerReferences = [
        {
          apiVersion: parent.apiVersion,
          kind: parent.kind,
          name: parent.metadata.name,
          uid: parent.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ];
      const current = observed.find((o) => typeOf(o) === type && o.metadata.name === d.metadata.name);
      if (!current) {
        this.lastApplied.set(`${type}|${ns}/${d.metadata.name}`, clone(child));
        this.cluster.create(child);
        continue;
      }
      if (current.metadata.deletionTimestamp) continue;
      const last = this.lastApplied.get(`${type}|${ns}/${d.metadata.name}`);
      if (isDeepStrictEqual(last, child)) continue;
      const method = this.childMethods.get(type)!;
      if (method === "OnDelete") continue;
      this.lastApplied.set(`${type}|${ns}/${d.metadata.name}`, clone(child));
      if (method === "Recreate") {
        this.cluster.delete(type, ns, d.metadata.name);
        this.cluster.create(child);
      } else {
        try {
          this.cluster.update({
            ...child,
            metadata: { ...current.metadata, ...child.metadata },
            status: current.status,
          });
        } catch (err) {
          throw new HookRejected(`apply ${type} ${d.metadata.name}: ${(err as Error).message}`);
        }
      }
    }
  }
  private readonly lastApplied = new Map<string, Obj>();

  private updateStatus(parent: Obj, status: Obj | undefined) {
    const fresh = this.cluster.get(PARENT_TYPE, parent.metadata.namespace, parent.metadata.name);
    if (!fresh) return;
    // The whole status is replaced; Metacontroller sets observedGeneration itself.
    const next = { ...(status ?? {}), observedGeneration: parent.metadata.generation };
    if (isDeepStrictEqual(fresh.status, next)) return;
    fresh.status = next;
    this.cluster.update(fresh, { status: true });
  }

  /** No value of any Secret may appear in status, annotations, ConfigMaps or Job specs. */
  private checkSecrets() {
    const all = this.cluster.all();
    const values = all
      .filter((o) => o.kind === "Secret")
      .flatMap((s) =>
        Object.values((s.data ?? {}) as Record<string, string>).flatMap((v) => [
          v,
          Buffer.from(v, "base64").toString("utf8"),
        ]),
      )
      .filter((v) => v.length >= 8);
    const exposed = [
      ...all
        .filter((o) => o.kind === "ImageBuild")
        .map((o) => ({ where: `${o.metadata.name} status`, text: JSON.stringify(o.status ?? {}) })),
      ...all.map((o) => ({
        where: `${o.kind} ${o.metadata.name} annotations`,
        text: JSON.stringify(o.metadata.annotations ?? {}),
      })),
      ...all
        .filter((o) => o.kind === "ConfigMap")
        .map((o) => ({ where: `ConfigMap ${o.metadata.name}`, text: JSON.stringify(o.data ?? {}) })),
      ...all
        .filter((o) => o.kind === "Job")
        .map((o) => ({ where: `Job ${o.metadata.name}`, text: JSON.stringify(o.spec) })),
    ];
    for (const e of exposed)
      for (const v of values)
        if (e.text.includes(v)) this.violations.push(`a Secret value appears in ${e.where}`);
  }

  /**
   * Reconciles until a pass changes nothing (as watch events would trigger them). Throws when it
   * does not settle: a hook that changes something on every call is an endless sync loop.
   */
  async converge(ns: string, name: string, maxPasses = 12): Promise<number> {
    for (let pass = 1; pass <= maxPasses; pass++) {
      const before = this.cluster.version;
      await this.reconcile(ns, name);
      if (this.cluster.version === before) return pass;
    }
    throw new Error(
      `${ns}/${name} did not converge in ${maxPasses} passes: ${this.cluster.events.slice(-6).join("; ")}`,
    );
  }
}
