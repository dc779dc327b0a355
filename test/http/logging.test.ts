// What the hook service writes to its log for client mistakes, bugs and unauthenticated callers,
// read from the pino output itself.
import { gzipSync } from "node:zlib";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { BODY_LIMIT } from "../../src/server/app.js";
import { fakeHooks, makeApp, metricValue, syncBody } from "./fixtures.js";

type Line = { level: number; msg: string; err?: { type: string; stack?: string }; [k: string]: unknown };
const WARN = 40;
const ERROR = 50;

function entries(log: { lines: string[] }): Line[] {
  return log.lines.map((l) => JSON.parse(l) as Line);
}

describe("bodies the parser refuses are the client's mistake", () => {
  const cases: Array<{
    name: string;
    status: number;
    reason: string;
    error: RegExp;
    send: (r: request.Test) => request.Test;
  }> = [
    {
      name: "a body over the limit",
      status: 413,
      reason: "entity.too.large",
      error: new RegExp(`larger than ${BODY_LIMIT}`),
      send: (r) =>
        r.set("content-type", "application/json").send(`{"pad":"${"x".repeat(33 * 1024 * 1024)}"}`),
    },
    {
      name: "an unknown Content-Encoding",
      status: 415,
      reason: "encoding.unsupported",
      error: /Content-Encoding/,
      send: (r) => r.set("content-type", "application/json").set("content-encoding", "x-unknown").send("{}"),
    },
    {
      name: "an unsupported charset",
      status: 415,
      reason: "charset.unsupported",
      error: /charset/,
      send: (r) => r.set("content-type", "application/json; charset=latin-9").send("{}"),
    },
    {
      name: "a gzip body that does not decompress",
      status: 400,
      reason: "encoding.invalid",
      error: /does not decompress/,
      send: (r) =>
        r
          .set("content-type", "application/json")
          .set("content-encoding", "gzip")
          .send(Buffer.concat([gzipSync('{"parent":').subarray(0, 12), Buffer.from("not gzip at all")])),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status}, logged as a warning without a stack`, async () => {
      const { app, log, calls } = makeApp({ level: "info" });
      const res = await c.send(request(app).post("/sync")).expect(c.status);
      expect(res.body.error).toMatch(c.error);
      expect(calls).toHaveLength(0);
      const lines = entries(log);
      expect(lines.filter((l) => l.level >= ERROR)).toEqual([]);
      const line = lines.find((l) => l.status === c.status);
      expect(line).toMatchObject({ level: WARN, reason: c.reason, hook: "sync" });
      expect(JSON.stringify(line)).not.toMatch(/stack|at .*node_modules/);
      const metrics = await request(app).get("/metrics");
      expect(metricValue(metrics.text, "sync", "bad_request")).toBe(1);
    });
  }
});

describe("errors in the log", () => {
  it("carry the error's own type, message and stack", async () => {
    const failing = fakeHooks({
      sync: () => {
        throw new RangeError("index out of range");
      },
    });
    const { app, log } = makeApp({ hooks: failing.hooks, level: "info" });
    await request(app).post("/sync").send(syncBody()).expect(500);
    const line = entries(log).find((l) => l.msg === "hook failed")!;
    expect(line.level).toBe(ERROR);
    expect(line.err).toMatchObject({ type: "RangeError", message: "index out of range" });
    expect(line.err!.stack).toMatch(/RangeError: index out of range\n\s+at /);
  });
});

describe("unauthenticated requests", () => {
  it("are all counted, but logged once a minute with the number left out", async () => {
    const { app, log } = makeApp({ token: "t0ken", level: "info" });
    for (let i = 0; i < 30; i++) await request(app).post("/sync").send(syncBody()).expect(401);
    await request(app).post("/finalize").send(syncBody()).expect(401);
    const warnings = entries(log).filter((l) => l.status === 401);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: WARN, suppressed: 0, hook: "sync" });
    const metrics = await request(app).get("/metrics");
    expect(metricValue(metrics.text, "sync", "unauthorized")).toBe(30);
    expect(metricValue(metrics.text, "finalize", "unauthorized")).toBe(1);
  });
});
