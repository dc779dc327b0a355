import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/server/logger.js";
import { startServer } from "../../src/server/main.js";
import { createMetrics } from "../../src/server/metrics.js";
import { fakeHooks, memoryLog, syncBody } from "./fixtures.js";

function get(url: string): Promise<number> {
  return fetch(url).then((r) => r.status);
}

describe("graceful shutdown", () => {
  it("turns readiness off, finishes the in-flight request, then stops accepting", async () => {
    const log = memoryLog();
    const running = await startServer({
      hooks: fakeHooks().hooks,
      logger: createLogger("info", log.stream),
      metrics: createMetrics(),
      port: 0,
      host: "127.0.0.1",
      shutdownDelayMs: 200,
    });
    expect(await get(`${running.url}/readyz`)).toBe(200);

    // An in-flight request: headers sent, body still streaming when SIGTERM's shutdown starts.
    const body = JSON.stringify(syncBody());
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${running.url}/sync`,
        {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 400);
    });
    await new Promise((r) => setTimeout(r, 50));

    const stopped = running.shutdown("test");
    expect(await get(`${running.url}/readyz`)).toBe(503);
    expect(await inFlight).toBe(200);
    await stopped;
    await expect(get(`${running.url}/healthz`)).rejects.toThrow();
    expect(log.text()).toContain("hook service stopped");
  });
});
