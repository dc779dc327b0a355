// Prometheus metrics for the hook service: per-hook latency and counts by hook and outcome. Each app
// gets its own registry so that tests (and several apps in one process) never share counters.
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type Outcome = "ok" | "bad_request" | "error" | "unauthorized";

export interface Metrics {
  registry: Registry;
  requests: Counter<"hook" | "outcome">;
  duration: Histogram<"hook">;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "bib_hook_requests_total",
    help: "Hook requests by hook and outcome",
    labelNames: ["hook", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "bib_hook_duration_seconds",
    help: "Hook request latency in seconds, from parsed body to response",
    labelNames: ["hook"] as const,
    // Metacontroller's default webhook timeout is 10 s; a hook should answer in milliseconds.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return { registry, requests, duration };
}
