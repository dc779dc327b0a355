import request from "supertest";
import { describe, expect, it } from "vitest";
import {
  SECRET_B64,
  SECRET_VALUE,
  fakeHooks,
  makeApp,
  metricValue,
  parent,
  secret,
  syncBody,
} from "./fixtures.js";

describe("hook routes", () => {
  it("answers sync with the hook's response and passes the parsed request and the clock", async () => {
    const { app, calls } = makeApp();
    const res = await request(app).post("/sync").send(syncBody()).expect(200);
    expect(res.body).toEqual({ status: { phase: "Pending", buildId: "0123456789abcdef" }, children: [] });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.now).toEqual(new Date("2026-01-02T03:04:05Z"));
    expect((calls[0]!.req as { finalizing: boolean }).finalizing).toBe(false);
  });

  it("routes customize and finalize to their hooks", async () => {
    const { app, calls } = makeApp();
    const c = await request(app).post("/customize").send({ controller: {}, parent: parent() }).expect(200);
    expect(c.body.relatedResources[0]).toMatchObject({ resource: "secrets" });
    const f = await request(app)
      .post("/finalize")
      .send(syncBody({ finalizing: true }))
      .expect(200);
    expect(f.body.finalized).toBe(true);
    expect(calls.map((c) => c.hook)).toEqual(["customize", "finalize"]);
  });

  it("treats null child groups and a missing finalizing as Metacontroller means them", async () => {
    const { app, calls } = makeApp();
    const body = { parent: parent(), children: { "Job.batch/v1": null } };
    await request(app).post("/sync").send(body).expect(200);
    expect(calls[0]!.req).toMatchObject({ children: { "Job.batch/v1": {} }, related: {}, finalizing: false });
  });

  it("drops fields a v2 hook's strict decoding would reject", async () => {
    const extra = fakeHooks({
      sync: () => ({ status: {}, children: [], debug: "x" }) as never,
    });
    const { app } = makeApp({ hooks: extra.hooks });
    const res = await request(app).post("/sync").send(syncBody()).expect(200);
    expect(Object.keys(res.body).sort()).toEqual(["children", "status"]);
  });
});

describe("bad requests", () => {
  it("names the missing field by its path", async () => {
    const { app, calls } = makeApp();
    const body = syncBody({ parent: { ...parent(), metadata: { namespace: "team-a" } } });
    const res = await request(app).post("/sync").send(body).expect(400);
    expect(res.body.issues).toContain("parent.metadata.name: required");
    expect(calls).toHaveLength(0);
  });

  it("names a malformed child by its map keys", async () => {
    const { app } = makeApp();
    const body = syncBody({
      children: { "Job.batch/v1": { x: { apiVersion: "batch/v1", metadata: { name: "x" } } } },
    });
    const res = await request(app).post("/sync").send(body).expect(400);
    expect(res.body.issues).toContain("children.Job.batch/v1.x.kind: required");
  });

  it("rejects a body that is not an object", async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post("/customize")
      .set("content-type", "application/json")
      .send("[1]")
      .expect(400);
    expect(res.body.issues[0]).toMatch(/^\(body\): /);
  });

  it("answers invalid JSON with 400 and counts it", async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post("/sync")
      .set("content-type", "application/json")
      .send('{"parent": {')
      .expect(400);
    expect(res.body).toEqual({ error: "invalid JSON body" });
    const metrics = await request(app).get("/metrics").expect(200);
    expect(metricValue(metrics.text, "sync", "bad_request")).toBe(1);
  });

  it("accepts a 16 MiB request (a 413 would be retried forever)", async () => {
    const { app, calls } = makeApp({ level: "info" });
    const big = "x".repeat(1024 * 1024);
    const configMaps: Record<string, unknown> = {};
    for (let i = 0; i < 16; i++) {
      configMaps[`cm-${i}`] = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `cm-${i}` },
        data: { k: big },
      };
    }
    const body = JSON.stringify(syncBody({ children: { "ConfigMap.v1": configMaps } }));
    expect(body.length).toBeGreaterThan(16 * 1024 * 1024);
    await request(app).post("/sync").set("content-type", "application/json").send(body).expect(200);
    expect(calls).toHaveLength(1);
  });
});

describe("internal errors", () => {
  it("answers 500 with a short message and no stack when a hook throws", async () => {
    const failing = fakeHooks({
      sync: () => {
        throw new Error("bug: cannot read properties of undefined");
      },
    });
    const { app, log } = makeApp({ hooks: failing.hooks });
    const res = await request(app).post("/sync").send(syncBody()).expect(500);
    expect(res.body).toEqual({ error: "internal error in sync hook" });
    expect(res.text).not.toMatch(/at .*\.ts|bug:/);
    expect(log.text()).toContain("bug: cannot read properties of undefined");
  });

  it("answers 500, not a partial 200, when the response cannot be serialised", async () => {
    const circular: Record<string, unknown> = { phase: "Building" };
    circular.self = circular;
    const bad = fakeHooks({ sync: () => ({ status: circular as never, children: [] }) });
    const { app } = makeApp({ hooks: bad.hooks });
    const res = await request(app).post("/sync").send(syncBody()).expect(500);
    expect(res.body.error).toBe("internal error in sync hook");
  });

  it("answers 500 when a hook returns nothing", async () => {
    const bad = fakeHooks({ finalize: () => undefined as never });
    const { app } = makeApp({ hooks: bad.hooks });
    await request(app)
      .post("/finalize")
      .send(syncBody({ finalizing: true }))
      .expect(500);
  });
});

describe("authorization", () => {
  const token = "t0ken-from-a-secret";

  it("rejects a hook call without a token, or with a wrong one, before calling the hook", async () => {
    const { app, calls, log } = makeApp({ token });
    await request(app).post("/sync").send(syncBody()).expect(401);
    await request(app).post("/sync").set("authorization", "Bearer nope").send(syncBody()).expect(401);
    await request(app).post("/sync").set("authorization", `Basic ${token}`).send(syncBody()).expect(401);
    expect(calls).toHaveLength(0);
    expect(log.text()).not.toContain(token);
    const metrics = await request(app).get("/metrics");
    expect(metricValue(metrics.text, "sync", "unauthorized")).toBe(3);
  });

  it("accepts the right bearer token, case-insensitive scheme", async () => {
    const { app, calls, log } = makeApp({ token });
    await request(app).post("/sync").set("authorization", `Bearer ${token}`).send(syncBody()).expect(200);
    await request(app)
      .post("/customize")
      .set("authorization", `bearer ${token}`)
      .send({ parent: parent() })
      .expect(200);
    expect(calls).toHaveLength(2);
    expect(log.text()).not.toContain(token);
  });

  it("leaves health, readiness and metrics open for the kubelet and Prometheus", async () => {
    const { app } = makeApp({ token });
    await request(app).get("/healthz").expect(200);
    await request(app).get("/readyz").expect(200);
    await request(app).get("/metrics").expect(200);
  });
});

describe("health and metrics", () => {
  it("reports liveness, and readiness false while shutting down", async () => {
    let ready = true;
    const { app } = makeApp({ ready: () => ready });
    await request(app).get("/healthz").expect(200, { status: "ok" });
    await request(app).get("/readyz").expect(200);
    ready = false;
    await request(app).get("/readyz").expect(503);
    await request(app).get("/healthz").expect(200);
  });

  it("counts calls by hook and outcome and records latency", async () => {
    const failing = fakeHooks({
      finalize: () => {
        throw new Error("boom");
      },
    });
    const { app } = makeApp({ hooks: failing.hooks });
    await request(app).post("/sync").send(syncBody()).expect(200);
    await request(app).post("/sync").send(syncBody()).expect(200);
    await request(app).post("/sync").send({ parent: {} }).expect(400);
    await request(app).post("/customize").send({ parent: parent() }).expect(200);
    await request(app)
      .post("/finalize")
      .send(syncBody({ finalizing: true }))
      .expect(500);
    const res = await request(app).get("/metrics").expect(200);
    expect(res.headers["content-type"]).toMatch(/text\/plain/);
    expect(metricValue(res.text, "sync", "ok")).toBe(2);
    expect(metricValue(res.text, "sync", "bad_request")).toBe(1);
    expect(metricValue(res.text, "customize", "ok")).toBe(1);
    expect(metricValue(res.text, "finalize", "error")).toBe(1);
    expect(res.text).toMatch(/bib_hook_duration_seconds_count\{hook="sync"\} 3/);
  });

  it("answers unknown routes with 404", async () => {
    const { app } = makeApp();
    await request(app).get("/sync").expect(404);
    await request(app).post("/nope").send({}).expect(404);
  });
});

describe("logs", () => {
  it("carry a request id, the parent and the buildId, and never a secret value", async () => {
    const echo = fakeHooks({
      sync: (req) => ({
        status: { buildId: "0123456789abcdef" },
        // The projected Secret child carries the value too; it must be redacted in the response log.
        children: [
          secret("golden-0123456789", { k: SECRET_B64 }),
          { ...secret("x", {}), stringData: { k: SECRET_VALUE } },
        ],
        ...(req.finalizing ? { finalized: true } : {}),
      }),
    });
    const { app, log } = makeApp({ hooks: echo.hooks, level: "debug" });
    await request(app).post("/sync").set("x-request-id", "req-42").send(syncBody()).expect(200);
    await request(app)
      .post("/finalize")
      .send(syncBody({ finalizing: true }))
      .expect(200);
    const text = log.text();
    expect(text).not.toContain(SECRET_B64);
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).toContain("[REDACTED]");
    const answered = log.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "hook answered");
    expect(answered).toMatchObject({
      requestId: "req-42",
      namespace: "team-a",
      name: "golden",
      buildId: "0123456789abcdef",
      hook: "sync",
    });
    // The debug exchange still shows the non-secret parts of the request.
    expect(text).toContain("bookworm");
  });
});
