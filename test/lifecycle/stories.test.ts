// ImageBuild stories end to end: the real hook service over HTTP, driven by the Metacontroller
// stand-in (harness.ts) with the repo's CompositeController, for both hook versions.
import { afterEach, describe, expect, it } from "vitest";
import { ANNOTATION_REBUILD, LABEL_COMPONENT } from "../../src/api/constants.js";
import { createHooks } from "../../src/hooks/index.js";
import { createLogger } from "../../src/server/logger.js";
import { startServer, type RunningServer } from "../../src/server/main.js";
import { createMetrics } from "../../src/server/metrics.js";
import {
  Cluster,
  Kubelet,
  Metacontroller,
  PARENT_TYPE,
  b64,
  loadController,
  type HookVersion,
  type Obj,
} from "./harness.js";

const NS = "images";
const NAME = "debian";
const BUILDER_IMAGE = "registry.test/bib/builder:test";

const minimal = { base: { debootstrap: { suite: "bookworm" } } };
const s3Spec = (deletionPolicy: "Retain" | "Delete" = "Retain") => ({
  base: { debootstrap: { suite: "bookworm" } },
  formats: ["qcow2"],
  publish: {
    s3: { bucket: "images", prefix: "debian/", region: "eu-west-1", credentialsSecretRef: { name: "s3" } },
  },
  deletionPolicy,
});
const S3_VALUES = {
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE0001",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI-super-secret-0001",
};
const artifact = {
  format: "qcow2",
  size: 4096,
  sha256: "a".repeat(64),
  location: "s3://images/debian/debian.qcow2",
};

let servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
  servers = [];
});

/** A hook service replica on a loopback port, on the cluster's clock; stopped after each test. */
async function startService(
  cluster: Cluster,
  hooks = createHooks({ builderImage: BUILDER_IMAGE }),
  options: { answerCache?: boolean } = {},
): Promise<RunningServer> {
  const s = await startServer({
    hooks,
    logger: createLogger("silent"),
    metrics: createMetrics(),
    port: 0,
    host: "127.0.0.1",
    clock: () => cluster.now,
    ...options,
  });
  servers.push(s);
  return s;
}

const createImageBuild = (cluster: Cluster, spec: unknown, annotations?: Record<string, string>) =>
  cluster.create({
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name: NAME, namespace: NS, ...(annotations ? { annotations } : {}) },
    spec,
  });

async function setup(version: HookVersion, replicas = 1) {
  const cluster = new Cluster();
  const kubelet = new Kubelet(cluster);
  for (let i = 0; i < replicas; i++) await startService(cluster);
  const mc = new Metacontroller({
    cluster,
    controller: loadController({ version }),
    endpoints: servers.slice(-replicas).map((s) => s.url),
  });

  const parent = () => cluster.get(PARENT_TYPE, NS, NAME);
  const status = (): Obj => parent()?.status ?? {};
  const condition = (type: string) => (status().conditions ?? []).find((c: Obj) => c.type === type);
  const jobs = (component = "build") =>
    cluster.list("Job.batch/v1", NS).filter((j) => j.metadata.labels?.[LABEL_COMPONENT] === component);
  const job = (component = "build") => {
    const list = jobs(component);
    expect(list, `exactly one ${component} Job`).toHaveLength(1);
    return list[0]!;
  };
  const converge = () => mc.converge(NS, NAME);
  const create = (spec: unknown, annotations?: Record<string, string>) =>
    createImageBuild(cluster, spec, annotations);
  const edit = (fn: (p: Obj) => void) => {
    const p = parent()!;
    fn(p);
    cluster.update(p);
  };
  const createS3Secret = (extra: Record<string, string> = {}) =>
    cluster.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3", namespace: NS },
      type: "Opaque",
      data: Object.fromEntries(Object.entries({ ...S3_VALUES, ...extra }).map(([k, v]) => [k, b64(v)])),
    });
  /** After convergence, one more sync changes nothing: same children, same status. */
  const expectSettled = async () => {
    const before = cluster.version;
    const snapshot = JSON.stringify(cluster.all());
    await mc.reconcile(NS, NAME);
    expect(cluster.version, `a sync after convergence changed: ${cluster.events.slice(-3).join("; ")}`).toBe(
      before,
    );
    expect(JSON.stringify(cluster.all())).toBe(snapshot);
  };
  const expectClean = () => {
    expect(mc.syncErrors).toEqual([]);
    expect(mc.violations).toEqual([]);
  };
  /** Builds to success (with a stage observed on the way) and returns the build Job's name. */
  const buildToSuccess = async (result: Obj = { artifacts: [artifact] }) => {
    await converge();
    const j = job();
    kubelet.run(j, "provision");
    cluster.tick(30);
    await converge();
    kubelet.succeed(j, result);
    cluster.tick(30);
    await converge();
    expect(status().phase).toBe("Succeeded");
    return j.metadata.name as string;
  };

  return {
    cluster,
    kubelet,
    mc,
    parent,
    status,
    condition,
    jobs,
    job,
    converge,
    create,
    edit,
    createS3Secret,
    expectSettled,
    expectClean,
    buildToSuccess,
  };
}

describe.each(["v1", "v2"] as const)("ImageBuild stories, hook version %s", (version) => {
  it("create -> build -> Succeeded with artifacts, stage reported on the way", async () => {
    const t = await setup(version);
    t.create(minimal);
    await t.converge();
    expect(t.parent()!.metadata.finalizers).toContain(t.mc.finalizerName);
    const j = t.job();
    expect(t.cluster.list("ConfigMap.v1", NS)).toHaveLength(1);
    expect(j.metadata.labels["controller-uid"]).toBe(t.parent()!.metadata.uid);
    expect(["Pending", "Building"]).toContain(t.status().phase);
    expect(t.status().buildId).toMatch(/^[0-9a-f]{16}$/);
    expect(t.condition("SpecValid")?.status).toBe("True");
    expect(t.status().observedGeneration).toBe(1);

    t.kubelet.run(j, "base");
    await t.converge();
    expect(t.status()).toMatchObject({ phase: "Building", stage: "base" });
    t.kubelet.run(j, "package");
    t.cluster.tick(60);
    await t.converge();
    expect(t.status()).toMatchObject({ phase: "Building", stage: "package" });
    expect(t.status().startTime).toBeDefined();

    const images = [
      { provider: "aws", region: "eu-west-1", imageId: "ami-0123", snapshotId: "snap-0123", name: "debian" },
    ];
    t.kubelet.succeed(j, { artifacts: [artifact], images });
    t.cluster.tick(60);
    await t.converge();
    expect(t.status()).toMatchObject({ phase: "Succeeded", artifacts: [artifact], images });
    expect(t.status().stage).toBeUndefined();
    expect(t.status().completionTime).toBeDefined();
    for (const c of ["Built", "Published", "Ready"]) expect(t.condition(c)?.status, c).toBe("True");
    expect(t.jobs()).toHaveLength(1);
    await t.expectSettled();
    t.expectClean();
  });

  it("a failing stage -> Failed with the builder's message, and no second build", async () => {
    const t = await setup(version);
    t.create(minimal);
    await t.converge();
    const j = t.job();
    t.kubelet.fail(j, "provision", 'provision: ansible task "harden ssh" failed');
    t.cluster.tick(10);
    await t.converge();
    expect(t.status().phase).toBe("Failed");
    expect(t.status().message).toContain('ansible task "harden ssh" failed');
    expect(t.condition("Ready")?.status).toBe("False");
    expect(t.cluster.events.filter((e) => e.startsWith("create Job"))).toHaveLength(1);
    await t.expectSettled();
    t.expectClean();
  });

  it("an invalid spec -> 200 with SpecValid=False naming the field, phase Failed, no children", async () => {
    const t = await setup(version);
    t.create({ base: { debootstrap: { suite: "bookworm" } }, disk: { size: "huge" } });
    await t.converge();
    expect(t.status().phase).toBe("Failed");
    expect(t.condition("SpecValid")).toMatchObject({ status: "False" });
    expect(t.condition("SpecValid")!.message).toContain("spec.disk.size");
    expect(t.cluster.all().filter((o) => ["Job", "ConfigMap", "Secret"].includes(o.kind))).toEqual([]);
    await t.expectSettled();
    t.expectClean();
  });

  it("a spec change starts a new build and drops the old build's children", async () => {
    const t = await setup(version);
    t.create(minimal);
    const first = await t.buildToSuccess();
    const firstId = t.status().buildId;
    t.edit((p) => (p.spec.packages = ["openssh-server"]));
    await t.converge();
    expect(t.parent()!.metadata.generation).toBe(2);
    expect(t.status().buildId).not.toBe(firstId);
    expect(t.cluster.get("Job.batch/v1", NS, first)).toBeUndefined();
    expect(t.cluster.get("ConfigMap.v1", NS, first)).toBeUndefined();
    expect(t.job().metadata.name).not.toBe(first);
    expect(["Pending", "Building"]).toContain(t.status().phase);
    expect(t.status().observedGeneration).toBe(2);
    await t.expectSettled();
    t.expectClean();
  });

  it("a new bib.dev/rebuild annotation starts a new build", async () => {
    const t = await setup(version);
    t.create(minimal);
    const first = await t.buildToSuccess();
    t.edit(
      (p) =>
        (p.metadata.annotations = {
          ...p.metadata.annotations,
          [ANNOTATION_REBUILD]: "2026-11-23T11:00:00Z",
        }),
    );
    await t.converge();
    expect(t.job().metadata.name).not.toBe(first);
    expect(t.cluster.get("Job.batch/v1", NS, first)).toBeUndefined();
    expect(t.status().phase).not.toBe("Succeeded");
    await t.expectSettled();
    t.expectClean();
  });

  it("a finished build's Job deleted (as ttlSecondsAfterFinished does) is not run again", async () => {
    const t = await setup(version);
    t.create(minimal);
    const name = await t.buildToSuccess();
    const before = t.status();
    t.cluster.tick(7 * 24 * 3600);
    // The TTL controller removes it if the Job asks for that; otherwise a user or a cleanup does.
    if (!t.kubelet.expireFinishedJobs().includes(name)) t.cluster.delete("Job.batch/v1", NS, name);
    expect(t.jobs()).toHaveLength(0);
    await t.converge();
    expect(t.jobs()).toHaveLength(0);
    expect(t.cluster.events.filter((e) => e.startsWith("create Job"))).toHaveLength(1);
    expect(t.status()).toMatchObject({
      phase: "Succeeded",
      artifacts: before.artifacts,
      buildId: before.buildId,
    });
    await t.expectSettled();
    t.expectClean();
  });

  it("a missing Secret -> SecretsResolved=False and no Job, then the Job once it appears", async () => {
    const t = await setup(version);
    t.create(s3Spec());
    await t.converge();
    expect(t.condition("SecretsResolved")).toMatchObject({ status: "False" });
    expect(t.condition("SecretsResolved")!.message).toContain("s3");
    expect(t.jobs()).toHaveLength(0);
    await t.expectSettled();

    t.createS3Secret({ unrelated: "not-for-the-build-0001" });
    await t.converge();
    expect(t.condition("SecretsResolved")?.status).toBe("True");
    const j = t.job();
    const projected = t.cluster.list("Secret.v1", NS).filter((s) => s.metadata.name !== "s3");
    expect(projected).toHaveLength(1);
    const values = Object.values(projected[0]!.data as Record<string, string>).map((v) =>
      Buffer.from(v, "base64").toString(),
    );
    expect(values).toEqual(expect.arrayContaining(Object.values(S3_VALUES)));
    expect(values).not.toContain("not-for-the-build-0001");
    expect(JSON.stringify(j.spec.template.spec.volumes)).toContain(projected[0]!.metadata.name);
    await t.expectSettled();
    t.expectClean();
  });

  it("delete with deletionPolicy Retain -> finalized at once, children collected", async () => {
    const t = await setup(version);
    t.createS3Secret();
    t.create(s3Spec("Retain"));
    await t.buildToSuccess();
    t.cluster.delete(PARENT_TYPE, NS, NAME);
    expect(t.parent()!.metadata.deletionTimestamp).toBeDefined();
    await t.converge();
    expect(t.parent()).toBeUndefined();
    expect(t.cluster.all().filter((o) => ["Job", "ConfigMap"].includes(o.kind))).toEqual([]);
    expect(t.mc.calls.some((c) => c.hook === "finalize" && c.request.finalizing === true)).toBe(true);
    expect(t.jobs("cleanup")).toHaveLength(0);
    t.expectClean();
  });

  it("delete with deletionPolicy Delete -> a cleanup Job, finalized only after it succeeded", async () => {
    const t = await setup(version);
    t.createS3Secret();
    t.create(s3Spec("Delete"));
    await t.buildToSuccess();
    t.cluster.delete(PARENT_TYPE, NS, NAME);
    await t.converge();
    expect(t.parent()).toBeDefined();
    expect(t.status().phase).toBe("Deleting");
    const cleanup = t.job("cleanup");
    await t.expectSettled();
    t.kubelet.succeed(cleanup);
    await t.converge();
    expect(t.parent()).toBeUndefined();
    t.expectClean();
  });

  it("a failing cleanup keeps the finalizer with a clear message, and finishes once it succeeds", async () => {
    const t = await setup(version);
    t.createS3Secret();
    t.create(s3Spec("Delete"));
    await t.buildToSuccess();
    t.cluster.delete(PARENT_TYPE, NS, NAME);
    await t.converge();
    const cleanup = t.job("cleanup");
    t.kubelet.fail(cleanup, "cleanup", "s3: AccessDenied: not allowed to delete debian/debian.qcow2");
    t.cluster.tick(30);
    await t.converge();
    expect(t.parent()).toBeDefined();
    expect(t.status().phase).toBe("Deleting");
    expect(t.status().message).toMatch(/cleanup failed/);
    expect(t.status().message).toContain("AccessDenied");
    expect(t.parent()!.metadata.finalizers).toContain(t.mc.finalizerName);
    await t.expectSettled();
    // The Job retried with a new Pod; this time cleanup succeeds.
    t.kubelet.succeed(t.job("cleanup"));
    await t.converge();
    expect(t.parent()).toBeUndefined();
    t.expectClean();
  });

  it("a stale request (older parent status, Job already gone) does not run a finished build again", async () => {
    const t = await setup(version);
    t.create(minimal);
    await t.converge();
    const j = t.job();
    t.kubelet.run(j, "package");
    await t.converge();
    const staleParent = t.parent()!; // Building, as an informer cache may still hold it
    t.kubelet.succeed(j, { artifacts: [artifact] });
    await t.converge();
    expect(t.status().phase).toBe("Succeeded");
    t.cluster.delete("Job.batch/v1", NS, j.metadata.name);
    await expect(t.mc.reconcile(NS, NAME, { staleParent })).rejects.toThrow(/409 Conflict/);
    const sent = t.mc.calls.at(-1)!.request;
    expect(sent.parent.status.phase).toBe("Building");
    expect(Object.keys(sent.children["Job.batch/v1"])).toEqual([]);
    t.mc.syncErrors.length = 0; // the conflict above is expected; Metacontroller retries
    await t.converge();
    expect(
      t.cluster.events.filter((e) => e.startsWith("create Job")),
      "the build Job was created again",
    ).toHaveLength(1);
    expect(t.status()).toMatchObject({ phase: "Succeeded", artifacts: [artifact] });
  });

  it("a repeated request gets the same answer and changes nothing", async () => {
    const t = await setup(version);
    t.create(minimal);
    await t.converge();
    t.kubelet.run(t.job(), "base");
    await t.converge();
    const last = t.mc.calls.filter((c) => c.hook === "sync").at(-1)!;
    const again = await fetch(`${last.endpoint}/sync`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(last.request),
    });
    expect(await again.json()).toEqual(last.response);
    await t.expectSettled();
    t.expectClean();
  });

  it("a rotated credential reaches the build's Secret in place, without a new build", async () => {
    const t = await setup(version);
    t.createS3Secret();
    t.create(s3Spec());
    await t.converge();
    const j = t.job();
    const rotated = "rotated-secret-value-0002";
    const user = t.cluster.get("Secret.v1", NS, "s3")!;
    user.data.AWS_SECRET_ACCESS_KEY = b64(rotated);
    t.cluster.update(user);
    await t.converge();
    const projected = t.cluster.list("Secret.v1", NS).find((s) => s.metadata.name !== "s3")!;
    const values = Object.values(projected.data as Record<string, string>).map((v) =>
      Buffer.from(v, "base64").toString(),
    );
    expect(values).toContain(rotated);
    expect(t.job().metadata.uid).toBe(j.metadata.uid);
    expect(t.cluster.events.filter((e) => e.startsWith("create Job"))).toHaveLength(1);
    await t.expectSettled();
    t.expectClean();
  });

  it("a restarted hook service picks up a build where it was", async () => {
    const t = await setup(version);
    t.create(minimal);
    await t.converge();
    const j = t.job();
    t.kubelet.run(j, "provision");
    await t.converge();
    const before = t.status();
    // Replace the only replica with a fresh process state on another port.
    const old = servers.pop()!;
    await old.shutdown();
    const fresh = await startService(t.cluster);
    const mc = new Metacontroller({
      cluster: t.cluster,
      controller: loadController({ version }),
      endpoints: [fresh.url],
    });
    const v = t.cluster.version;
    await mc.reconcile(NS, NAME);
    expect(t.cluster.version).toBe(v);
    expect(t.status()).toEqual(before);
    t.kubelet.succeed(j, { artifacts: [artifact] });
    await mc.converge(NS, NAME);
    expect(t.status().phase).toBe("Succeeded");
    expect(t.cluster.events.filter((e) => e.startsWith("create Job"))).toHaveLength(1);
    expect(mc.syncErrors).toEqual([]);
    expect(mc.violations).toEqual([]);
  });

  it("an ImageBuild deleted before anything was published is finalized at once", async () => {
    const t = await setup(version);
    t.createS3Secret();
    t.create(s3Spec("Delete"));
    await t.converge();
    t.cluster.delete(PARENT_TYPE, NS, NAME);
    await t.converge();
    expect(t.parent()).toBeUndefined();
    expect(t.jobs("cleanup")).toHaveLength(0);
    expect(t.cluster.all().filter((o) => ["Job", "ConfigMap"].includes(o.kind))).toEqual([]);
    t.expectClean();
  });

  it("two service replicas answering alternately give the same answers", async () => {
    const t = await setup(version, 2);
    t.createS3Secret();
    t.create(s3Spec());
    await t.buildToSuccess();
    await t.expectSettled();
    const endpoints = new Set(t.mc.calls.map((c) => c.endpoint));
    expect(endpoints.size).toBe(2);
    // Replay the last sync request to both replicas: byte-identical answers.
    const last = t.mc.calls.filter((c) => c.hook === "sync").at(-1)!;
    const answers = await Promise.all(
      [...endpoints].map((e) =>
        fetch(`${e}/sync`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(last.request),
        }).then((r) => r.text()),
      ),
    );
    expect(answers[0]).toBe(answers[1]);
    expect(JSON.parse(answers[0]!)).toEqual(last.response);
    t.expectClean();
  });
});

/** A service whose hooks are the real ones, altered by `wrap` (to prove the harness catches faults). */
async function faultyService(
  cluster: Cluster,
  wrap: (hooks: ReturnType<typeof createHooks>) => ReturnType<typeof createHooks>,
) {
  // These hooks are impure on purpose (to test the harness); the answer cache assumes pure ones.
  const s = await startService(cluster, wrap(createHooks({ builderImage: BUILDER_IMAGE })), {
    answerCache: false,
  });
  return s.url;
}

describe("the Metacontroller stand-in is strict", () => {
  it("detects churn: a status that changes on every call never converges", async () => {
    const cluster = new Cluster();
    let n = 0;
    const url = await faultyService(cluster, (h) => ({
      ...h,
      sync: (req, now) => ({
        ...h.sync(req, now),
        status: { ...h.sync(req, now).status, message: `call ${++n}` },
      }),
    }));
    const mc = new Metacontroller({
      cluster,
      controller: loadController({ version: "v2" }),
      endpoints: [url],
    });
    createImageBuild(cluster, minimal);
    await expect(mc.converge(NS, NAME)).rejects.toThrow(/did not converge/);
  });

  it("detects a Secret value copied into status", async () => {
    const cluster = new Cluster();
    const url = await faultyService(cluster, (h) => ({
      ...h,
      sync: (req, now) => {
        const r = h.sync(req, now);
        const leaked = Object.values(req.related["Secret.v1"] ?? {})[0]?.data as
          Record<string, string> | undefined;
        return {
          ...r,
          status: {
            ...r.status,
            message: Buffer.from(Object.values(leaked ?? {})[0] ?? "", "base64").toString(),
          },
        };
      },
    }));
    const mc = new Metacontroller({
      cluster,
      controller: loadController({ version: "v1" }),
      endpoints: [url],
    });
    cluster.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3", namespace: NS },
      data: {
        AWS_ACCESS_KEY_ID: b64(S3_VALUES.AWS_ACCESS_KEY_ID),
        AWS_SECRET_ACCESS_KEY: b64(S3_VALUES.AWS_SECRET_ACCESS_KEY),
      },
    });
    createImageBuild(cluster, s3Spec());
    await mc.converge(NS, NAME);
    expect(mc.violations.join("\n")).toMatch(/a Secret value appears in debian status/);
  });

  it("honours Recreate and InPlace for a changed child", async () => {
    for (const method of ["Recreate", "InPlace"] as const) {
      const cluster = new Cluster();
      new Kubelet(cluster);
      let note = "one";
      const url = await faultyService(cluster, (h) => ({
        ...h,
        sync: (req, now) => {
          const r = h.sync(req, now);
          const children = r.children.map((c) =>
            c.kind === "ConfigMap" ? { ...c, data: { ...(c.data as object), note } } : c,
          );
          return { ...r, children };
        },
      }));
      const controller = loadController();
      controller.spec.childResources.find((c: Obj) => c.resource === "configmaps").updateStrategy = {
        method,
      };
      const mc = new Metacontroller({ cluster, controller, endpoints: [url] });
      createImageBuild(cluster, minimal);
      await mc.converge(NS, NAME);
      const before = cluster.list("ConfigMap.v1", NS)[0]!;
      note = "two";
      await mc.converge(NS, NAME);
      const after = cluster.list("ConfigMap.v1", NS)[0]!;
      expect(after.data.note, method).toBe("two");
      if (method === "Recreate") expect(after.metadata.uid).not.toBe(before.metadata.uid);
      else expect(after.metadata.uid).toBe(before.metadata.uid);
    }
  });

  it("never updates a Job in place: a re-rendered Job of the same build is left alone (OnDelete)", async () => {
    const cluster = new Cluster();
    new Kubelet(cluster);
    let image = "registry.test/bib/builder:1";
    const url = await faultyService(cluster, (h) => ({
      ...h,
      sync: (req, now) => {
        const r = h.sync(req, now);
        return {
          ...r,
          children: r.children.map((c) =>
            c.kind === "Job" ? JSON.parse(JSON.stringify(c).replaceAll(BUILDER_IMAGE, image)) : c,
          ),
        };
      },
    }));
    const mc = new Metacontroller({ cluster, controller: loadController(), endpoints: [url] });
    createImageBuild(cluster, minimal);
    await mc.converge(NS, NAME);
    image = "registry.test/bib/builder:2"; // an operator upgrade renders the Job differently
    await mc.converge(NS, NAME);
    const jobs = cluster.list("Job.batch/v1", NS);
    expect(jobs).toHaveLength(1);
    expect(JSON.stringify(jobs[0])).toContain("builder:1");
    expect(cluster.events.filter((e) => e.startsWith("create Job"))).toHaveLength(1);
  });

  it("rejects a v2 answer with an unknown top-level field and changes nothing", async () => {
    const t = await setup("v2");
    t.create(minimal);
    await t.converge();
    const before = t.cluster.version;
    // A direct check of the validation: a fake service answering with an extra field.
    const { createServer } = await import("node:http");
    const bad = createServer((req, res) => {
      const body =
        req.url === "/customize" ? { relatedResources: [] } : { status: {}, children: [], extra: 1 };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    const port = (bad.address() as { port: number }).port;
    const mc = new Metacontroller({
      cluster: t.cluster,
      controller: loadController({ version: "v2" }),
      endpoints: [`http://127.0.0.1:${port}`],
    });
    await expect(mc.reconcile(NS, NAME)).rejects.toThrow(/unknown field\(s\) extra/);
    expect(t.cluster.version).toBe(before);
    bad.close();
  });

  it("rejects non-200 answers, children in another namespace and non-object status", async () => {
    const t = await setup("v1");
    t.create(minimal);
    await t.converge();
    const before = t.cluster.version;
    const { createServer } = await import("node:http");
    const answers = [
      { code: 500, body: { error: "boom" }, expect: /HTTP 500/ },
      {
        code: 200,
        body: {
          status: {},
          children: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "other" } }],
        },
        expect: /namespace other/,
      },
      {
        code: 200,
        body: { status: {}, children: [{ apiVersion: "v1", metadata: { name: "x" } }] },
        expect: /without apiVersion, kind/,
      },
      { code: 200, body: { status: "Succeeded", children: [] }, expect: /status is not an object/ },
    ];
    for (const a of answers) {
      const srv = createServer((req, res) => {
        if (req.url === "/customize") return res.writeHead(200).end(JSON.stringify({ relatedResources: [] }));
        res.writeHead(a.code, { "content-type": "application/json" }).end(JSON.stringify(a.body));
      });
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      const mc = new Metacontroller({
        cluster: t.cluster,
        controller: loadController(),
        endpoints: [`http://127.0.0.1:${(srv.address() as { port: number }).port}`],
      });
      await expect(mc.reconcile(NS, NAME)).rejects.toThrow(a.expect);
      srv.close();
    }
    // The finalizer was already there, so nothing at all changed.
    expect(t.cluster.version).toBe(before);
  });
});
