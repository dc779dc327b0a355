// The deployment manifests, checked offline: kustomize builds (with a small stand-in, see
// kustomize-lite.ts), every object validates against the Kubernetes OpenAPI schemas
// (kubernetes-models), and the CompositeController has what Metacontroller requires and points at
// the Service the kustomization deploys.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { build, repoRoot, type Manifest } from "./kustomize-lite.js";

// Manifests are checked field by field below; a loose type keeps those checks readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const VALIDATORS: Record<string, (m: Manifest) => void> = {
  Deployment: (m) => new Deployment(m as never).validate(),
  Service: (m) => new Service(m as never).validate(),
  PodDisruptionBudget: (m) => new PodDisruptionBudget(m as never).validate(),
  ServiceAccount: (m) => new ServiceAccount(m as never).validate(),
  Namespace: (m) => new Namespace(m as never).validate(),
  NetworkPolicy: (m) => new NetworkPolicy(m as never).validate(),
};

/** Metacontroller's Pods as its manifests/production installs them (StatefulSet metacontroller). */
const METACONTROLLER_PEER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "metacontroller" } },
  podSelector: { matchLabels: { "app.kubernetes.io/name": "metacontroller" } },
};
/** The Prometheus Pods of kube-prometheus. */
const SCRAPER_PEER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
  podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
};

const one = (list: Manifest[], kind: string) => {
  const found = list.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Manifest & Record<string, Loose>;
};

const env = (d: Record<string, Loose>, name: string) =>
  (d.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>).find(
    (e) => e.name === name,
  )?.value;

function goDuration(s: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(s);
  if (!m) throw new Error(`not a Go duration we expect: ${s}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as "ms" | "s" | "m"];
}

describe.each([
  ["base (repo root)", "."],
  ["dev overlay", "examples/overlays/dev"],
  ["prod overlay", "examples/overlays/prod"],
])("%s", (_label, dir) => {
  const objects = build(join(repoRoot, dir));

  it("validates every core object against the Kubernetes schema", () => {
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      [
        "CompositeController",
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
      ].sort(),
    );
    for (const o of objects) VALIDATORS[o.kind]?.(o);
    for (const o of objects) {
      if (["Namespace", "CustomResourceDefinition", "CompositeController"].includes(o.kind))
        expect(o.metadata.namespace, o.kind).toBeUndefined();
      else expect(o.metadata.namespace, o.kind).toBe("bib-system");
    }
  });

  it("runs the service restricted, probed, spread and without an API token", () => {
    const d = one(objects, "Deployment");
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(one(objects, "ServiceAccount").automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe(one(objects, "ServiceAccount").metadata.name);
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(pod.topologySpreadConstraints[0].topologyKey).toBe("kubernetes.io/hostname");
    expect(c.image).toMatch(/^ghcr\.io\/bib-dev\/bib-operator:/);
    expect(env(d, "BIB_BUILDER_IMAGE")).toMatch(/bib-builder:/);
    // Selectors select the Pods.
    const labels = d.spec.template.metadata.labels;
    for (const sel of [
      d.spec.selector.matchLabels,
      one(objects, "Service").spec.selector,
      one(objects, "PodDisruptionBudget").spec.selector.matchLabels,
    ]) {
      for (const [k, v] of Object.entries(sel as Record<string, string>)) expect(labels[k]).toBe(v);
    }
  });

  it("admits only Metacontroller's Pods to the hook port, and the scraper to the metrics port only", () => {
    const policy = one(objects, "NetworkPolicy");
    const d = one(objects, "Deployment");
    const template = d.spec.template;
    // It selects the hook Pods and isolates them for ingress.
    const selected = Object.entries(policy.spec.podSelector.matchLabels as Record<string, string>);
    expect(selected.length).toBeGreaterThan(0);
    for (const [k, v] of selected) expect(template.metadata.labels[k]).toBe(v);
    expect(policy.spec.policyTypes).toContain("Ingress");

    const containerPorts = Object.fromEntries(
      template.spec.containers[0].ports.map((p: Loose) => [p.name, p.containerPort]),
    );
    const number = (port: number | string) => (typeof port === "number" ? port : containerPorts[port]);
    const admitted = new Map<number, unknown[]>();
    for (const rule of policy.spec.ingress) {
      // A rule without `from` admits every source; one without `ports`, every port.
      expect(rule.from?.length, "a rule names its sources").toBeGreaterThan(0);
      expect(rule.ports?.length, "a rule names its ports").toBeGreaterThan(0);
      for (const peer of rule.from) {
        // An empty selector matches every namespace (or Pod); an ipBlock admits addresses.
        expect(peer.ipBlock).toBeUndefined();
        expect(Object.keys(peer.namespaceSelector?.matchLabels ?? {}).length).toBeGreaterThan(0);
        expect(Object.keys(peer.podSelector?.matchLabels ?? {}).length).toBeGreaterThan(0);
      }
      for (const p of rule.ports) {
        const port = number(p.port);
        expect(port, `port ${p.port} is a port of the container`).toBeDefined();
        admitted.set(port, [...(admitted.get(port) ?? []), ...rule.from]);
      }
    }
    const hookPort = number(one(objects, "Service").spec.ports[0].targetPort);
    const metricsPort = Number(template.metadata.annotations["prometheus.io/port"]);
    expect(env(d, "PORT")).toBe(String(hookPort));
    expect(env(d, "BIB_METRICS_PORT")).toBe(String(metricsPort));
    expect(metricsPort).not.toBe(hookPort);
    expect(admitted.get(hookPort)).toEqual([METACONTROLLER_PEER]);
    expect(admitted.get(metricsPort)).toEqual([SCRAPER_PEER]);
    expect([...admitted.keys()].sort()).toEqual([hookPort, metricsPort].sort());
  });

  it("has a CompositeController Metacontroller accepts, calling the deployed Service", () => {
    const cc = one(objects, "CompositeController");
    const crd = one(objects, "CustomResourceDefinition");
    expect(cc.apiVersion).toBe("metacontroller.k8s.io/v1alpha1");
    expect(cc.spec.generateSelector).toBe(true);
    expect(cc.spec.parentResource).toEqual({ apiVersion: "bib.dev/v1alpha1", resource: "imagebuilds" });
    // The parent must be served with the status subresource, or Metacontroller ignores it.
    expect(crd.spec.names.plural).toBe("imagebuilds");
    const served = crd.spec.versions.find((v: { name: string }) => v.name === "v1alpha1");
    expect(served.subresources.status).toEqual({});
    const children = Object.fromEntries(
      cc.spec.childResources.map((c: Loose) => [
        `${c.resource}.${c.apiVersion}`,
        c.updateStrategy?.method ?? "OnDelete",
      ]),
    );
    expect(Object.keys(children).sort()).toEqual(["configmaps.v1", "jobs.batch/v1", "secrets.v1"]);
    // Job pod templates are immutable, and an in-place or rolling update would re-run a build.
    expect(children["jobs.batch/v1"]).toBe("OnDelete");
    for (const m of Object.values(children)) expect(["OnDelete", "Recreate", "InPlace"]).toContain(m);
    expect(cc.spec.resyncPeriodSeconds).toBeGreaterThan(0);
    const svc = one(objects, "Service");
    for (const hook of ["customize", "sync", "finalize"]) {
      const h = cc.spec.hooks[hook];
      expect(["v1", "v2"], hook).toContain(h.version);
      expect(h.webhook.url, `${hook}: url and service are exclusive`).toBeUndefined();
      expect(h.webhook.service).toEqual({
        name: svc.metadata.name,
        namespace: svc.metadata.namespace,
        port: svc.spec.ports[0].port,
      });
      expect(h.webhook.path).toBe(`/${hook}`);
      expect(goDuration(h.webhook.timeout)).toBeGreaterThan(0);
      expect(goDuration(h.webhook.timeout)).toBeLessThanOrEqual(30);
    }
  });
});

describe("overlays", () => {
  const base = build(repoRoot);
  const dev = build(join(repoRoot, "examples/overlays/dev"));
  const prod = build(join(repoRoot, "examples/overlays/prod"));
  const dep = (l: Manifest[]) => one(l, "Deployment");

  it("change replicas, resources and the builder image", () => {
    expect(dep(base).spec.replicas).toBe(2);
    expect(dep(dev).spec.replicas).toBe(1);
    expect(dep(prod).spec.replicas).toBe(3);
    const res = (l: Manifest[]) => JSON.stringify(dep(l).spec.template.spec.containers[0].resources);
    expect(new Set([res(base), res(dev), res(prod)]).size).toBe(3);
    expect(env(dep(dev), "BIB_BUILDER_IMAGE")).not.toBe(env(dep(base), "BIB_BUILDER_IMAGE"));
    expect(env(dep(prod), "BIB_BUILDER_IMAGE")).toBeDefined();
  });

  it("prod sends and checks the same bearer token", () => {
    const cc = one(prod, "CompositeController");
    const d = dep(prod);
    const file = env(d, "BIB_AUTH_TOKEN_FILE")!;
    const vol = d.spec.template.spec.volumes.find((v: { secret?: unknown }) => v.secret);
    const mount = d.spec.template.spec.containers[0].volumeMounts.find(
      (m: { name: string }) => m.name === vol.name,
    );
    // Mode 0440 files are readable by their group only: the Pod's fsGroup must own them.
    expect(vol.secret.defaultMode & 0o004 || d.spec.template.spec.securityContext.fsGroup).toBeTruthy();
    for (const hook of ["customize", "sync", "finalize"]) {
      const ref = cc.spec.hooks[hook].webhook.authorization.secretRef;
      expect(ref.name).toBe(vol.secret.secretName);
      expect(ref.namespace).toBe(d.metadata.namespace);
      expect(file).toBe(`${mount.mountPath}/${ref.key}`);
      expect(cc.spec.hooks[hook].webhook.service).toBeDefined();
    }
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
  it("builds in one stage and runs Node 22 as a numeric non-root user in another", () => {
    // Base images are build arguments (scripts/images.sh passes local ones); their defaults are real.
    const args = Object.fromEntries([...text.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) =>
      m[1]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? name),
    );
    expect(froms.at(-1)).toBe("gcr.io/distroless/nodejs22-debian12:nonroot");
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)).toMatch(/nodejs22|node:22/);
    expect(text).toMatch(/npm ci/);
    expect(text).toMatch(/--omit=dev/);
    const user = /^USER\s+(\d+)(?::\d+)?\s*$/m.exec(text);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/dist\/cli\/main\.js/);
  });
});
