// The separate metrics listener (BIB_METRICS_PORT, as the Deployment sets it): /metrics there and
// only there, so that the NetworkPolicy can open that port to the scraper without opening the hooks.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/server/config.js";
import { createLogger } from "../../src/server/logger.js";
import { startServer } from "../../src/server/main.js";
import { createMetrics } from "../../src/server/metrics.js";
import { fakeHooks, metricValue, syncBody } from "./fixtures.js";

describe("a separate metrics port", () => {
  it("is read from BIB_METRICS_PORT, unset by default", () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ BIB_METRICS_PORT: "9090" }).metricsPort).toBe(9090);
    expect(() => loadConfig({ BIB_METRICS_PORT: "0" })).toThrow(/BIB_METRICS_PORT: /);
  });

  it("serves /metrics only, and the hook port serves no metrics", async () => {
    const running = await startServer({
      hooks: fakeHooks().hooks,
      logger: createLogger("silent"),
      metrics: createMetrics(),
      port: 0,
      metricsPort: 0,
      host: "127.0.0.1",
    });
    try {
      const metricsUrl = `http://127.0.0.1:${running.metricsPort}`;
      const sync = await fetch(`${running.url}/sync`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(syncBody()),
      });
      expect(sync.status).toBe(200);
      const scraped = await fetch(`${metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(metricValue(await scraped.text(), "sync", "ok")).toBe(1);
      expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
      const hookOnMetricsPort = await fetch(`${metricsUrl}/sync`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(syncBody()),
      });
      expect(hookOnMetricsPort.status).toBe(404);
      expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(404);
    } finally {
      await running.shutdown();
    }
    await expect(fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).rejects.toThrow();
  });
});
