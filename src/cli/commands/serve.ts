// `bib serve`: the hook service Metacontroller calls. Wires config (parsed once from the
// environment), one logger, the metrics registry and the real hooks into the server, and turns
// SIGTERM/SIGINT into a graceful shutdown (readiness off, drain, finish in-flight, exit).
import type { Command } from "commander";
import { createHooks } from "../../hooks/index.js";
import { ConfigError, loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { startServer } from "../../server/main.js";
import { createMetrics } from "../../server/metrics.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the Metacontroller hook service (customize, sync, finalize) on $PORT (default 8080)")
    .option("-p, --port <port>", "listen port (overrides $PORT)")
    .action(async (opts: { port?: string }) => {
      let config;
      try {
        config = loadConfig({ ...process.env, ...(opts.port !== undefined ? { PORT: opts.port } : {}) });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(`bib serve: ${err.message}`);
        process.exitCode = 2;
        return;
      }
      const logger = createLogger(config.logLevel);
      const running = await startServer({
        hooks: createHooks(config.hooksOptions),
        logger,
        metrics: createMetrics({ defaultMetrics: true }),
        port: config.port,
        metricsPort: config.metricsPort,
        host: config.host,
        authToken: config.authToken,
        shutdownDelayMs: config.shutdownDelayMs,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
      });
      logger.info(
        { auth: Boolean(config.authToken), builderImage: config.hooksOptions.builderImage },
        "bib serve ready",
      );
      if (!config.authToken) {
        logger.warn(
          "no BIB_AUTH_TOKEN_FILE: the hook routes answer anyone who can reach this Pod; production installs set a token (examples/overlays/prod)",
        );
      }
      // The first signal drains gracefully; a second one (an impatient Ctrl-C) exits at once.
      let signals = 0;
      const stop = (signal: NodeJS.Signals) => {
        if (++signals > 1) {
          logger.warn({ signal }, "second signal: exiting without waiting");
          process.exit(1);
        }
        running.shutdown(signal).then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
}
