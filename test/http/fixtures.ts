// Fixtures for the HTTP tests: fake hooks that record what they were given, a logger writing into
// memory, and Metacontroller-shaped request bodies.
import { Writable } from "node:stream";
import type { Hooks } from "../../src/hooks/index.js";
import { createApp } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createMetrics } from "../../src/server/metrics.js";
import type { SyncRequest } from "../../src/hooks/types.js";

export const SECRET_VALUE = "s3cr3t-value-that-must-never-be-logged";
export const SECRET_B64 = Buffer.from(SECRET_VALUE).toString("base64");

export function memoryLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      cb();
    },
  });
  return { stream, lines, text: () => lines.join("\n") };
}

export function fakeHooks(overrides: Partial<Hooks> = {}) {
  const calls: Array<{ hook: string; req: unknown; now?: Date }> = [];
  const hooks: Hooks = {
    customize: (req) => {
      calls.push({ hook: "customize", req });
      return { relatedResources: [{ apiVersion: "v1", resource: "secrets", names: ["aws"] }] };
    },
    sync: (req, now) => {
      calls.push({ hook: "sync", req, now });
      return { status: { phase: "Pending", buildId: "0123456789abcdef" }, children: [] };
    },
    finalize: (req, now) => {
      calls.push({ hook: "finalize", req, now });
      return { status: { phase: "Deleting" }, children: [], finalized: true };
    },
    ...overrides,
  };
  return { hooks, calls };
}

export function makeApp(opts: { hooks?: Hooks; token?: string; level?: string; ready?: () => boolean } = {}) {
  const log = memoryLog();
  const logger = createLogger(opts.level ?? "debug", log.stream);
  const metrics = createMetrics();
  const fake = fakeHooks();
  const app = createApp({
    hooks: opts.hooks ?? fake.hooks,
    logger,
    metrics,
    auth: opts.token ? { token: opts.token } : undefined,
    ...(opts.ready ? { isReady: opts.ready } : {}),
    clock: () => new Date("2026-01-02T03:04:05Z"),
  });
  return { app, log, metrics, calls: fake.calls };
}

export function parent(overrides: Record<string, unknown> = {}) {
  return {
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name: "golden", namespace: "team-a", uid: "uid-1", generation: 1 },
    spec: { base: { debootstrap: { suite: "bookworm" } } },
    ...overrides,
  };
}

export function secret(name: string, data: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: "team-a",
      annotations: {
        "metacontroller.k8s.io/last-applied-configuration": JSON.stringify({ data }),
      },
    },
    type: "Opaque",
    data,
  };
}

export function syncBody(extra: Partial<Record<keyof SyncRequest, unknown>> = {}) {
  return {
    controller: { metadata: { name: "bib" } },
    parent: parent(),
    children: {
      "ConfigMap.v1": {},
      "Secret.v1": {
        "golden-0123456789": secret("golden-0123456789", { "s3.AWS_SECRET_ACCESS_KEY": SECRET_B64 }),
      },
      "Job.batch/v1": {},
    },
    related: {
      "Secret.v1": { aws: secret("aws", { AWS_SECRET_ACCESS_KEY: SECRET_B64 }) },
      "Pod.v1": {},
    },
    finalizing: false,
    ...extra,
  };
}

/** The value of bib_hook_requests_total for one hook and outcome in a /metrics answer (0 when absent). */
export function metricValue(text: string, hook: string, outcome: string): number {
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("bib_hook_requests_total{") &&
        l.includes(`hook="${hook}"`) &&
        l.includes(`outcome="${outcome}"`),
    );
  return line ? Number(line.split(" ").pop()) : 0;
}
