// Runs the hook service: builds the app around injected hooks, listens, and shuts down gracefully.
// `bib serve` wires the real hooks, config and logger into this; tests and the lifecycle harness
// start it on an ephemeral loopback port.
import { once } from "node:events";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { Hooks } from "../hooks/index.js";
import { createAnswerCache } from "./answer-cache.js";
import { createApp, createMetricsApp } from "./app.js";
import type { Metrics } from "./metrics.js";

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** The separate metrics listener's port, when there is one. */
  metricsPort: number | undefined;
  /** Readiness false, drain delay, stop accepting, finish in-flight requests, close. Idempotent. */
  shutdown(reason?: string): Promise<void>;
}

export interface StartOptions {
  hooks: Hooks;
  logger: Logger;
  metrics: Metrics;
  port: number;
  host: string;
  /** Serve /metrics on this port instead of the hook port (0: an ephemeral one). */
  metricsPort?: number | undefined;
  authToken?: string | undefined;
  shutdownDelayMs?: number;
  shutdownTimeoutMs?: number;
  /** The hooks' notion of now; tests and the lifecycle harness drive it. */
  clock?: () => Date;
  /** Reuse answers to byte-identical requests (default on, as deployed). */
  answerCache?: boolean;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  let ready = true;
  const app = createApp({
    hooks: opts.hooks,
    logger: opts.logger,
    metrics: opts.metrics,
    auth: opts.authToken ? { token: opts.authToken } : undefined,
    isReady: () => ready,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.answerCache === false ? {} : { answerCache: createAnswerCache() }),
    metricsRoute: opts.metricsPort === undefined,
  });
  const server = app.listen(opts.port, opts.host);
  await once(server, "listening");
  const metricsServer =
    opts.metricsPort === undefined
      ? undefined
      : createMetricsApp(opts.metrics).listen(opts.metricsPort, opts.host);
  if (metricsServer) await once(metricsServer, "listening");
  const metricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : undefined;
  // Longer than the idle timeout of Go's http.Transport (90 s) would be ideal, but a Service VIP
  // may drop idle flows earlier; 65 s beats the common 60 s load balancer idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  opts.logger.info({ port, metricsPort, host: opts.host }, "hook service listening");

  let closing: Promise<void> | undefined;
  // A keep-alive connection whose request was in flight at close() becomes idle only afterwards;
  // close it then (and tell the client) instead of waiting for the client's idle timeout.
  server.prependListener("request", (_req, res: ServerResponse) => {
    if (closing) res.setHeader("connection", "close");
    res.on("finish", () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  const shutdown = (reason = "shutdown") => {
    closing ??= (async () => {
      ready = false;
      opts.logger.info({ reason, delayMs: opts.shutdownDelayMs ?? 0 }, "shutting down");
      if (opts.shutdownDelayMs) await delay(opts.shutdownDelayMs);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections would hold close() open; in-flight requests finish first.
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), opts.shutdownTimeoutMs ?? 20_000);
      force.unref();
      await closed;
      clearTimeout(force);
      // Last, so that the metrics of the final requests can still be scraped during the drain.
      // A scraper's keep-alive connection would hold close() open; a scrape in flight is cheap to lose.
      if (metricsServer) {
        const metricsClosed = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        metricsServer.closeAllConnections();
        await metricsClosed;
      }
      opts.logger.info("hook service stopped");
    })();
    return closing;
  };
  return {
    server,
    port,
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    metricsPort,
    shutdown,
  };
}
