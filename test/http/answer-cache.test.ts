import request from "supertest";
import { describe, expect, it } from "vitest";
import { createAnswerCache } from "../../src/server/answer-cache.js";
import { createApp } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createMetrics } from "../../src/server/metrics.js";
import { fakeHooks, syncBody } from "./fixtures.js";

function cachedApp(overrides: Parameters<typeof fakeHooks>[0] = {}, clock = () => 0) {
  const fake = fakeHooks(overrides);
  const app = createApp({
    hooks: fake.hooks,
    logger: createLogger("silent"),
    metrics: createMetrics(),
    answerCache: createAnswerCache({ entries: 2, ttlMs: 1000, maxAnswerBytes: 1 << 20 }, clock),
  });
  return { app, calls: fake.calls };
}

describe("answers to identical requests", () => {
  it("are computed once and reused byte for byte", async () => {
    const { app, calls } = cachedApp();
    const first = await request(app).post("/sync").send(syncBody()).expect(200);
    const second = await request(app).post("/sync").send(syncBody()).expect(200);
    expect(second.text).toBe(first.text);
    expect(calls).toHaveLength(1);
  });

  it("are not shared between hooks or between different requests", async () => {
    const { app, calls } = cachedApp();
    await request(app).post("/sync").send(syncBody()).expect(200);
    await request(app).post("/finalize").send(syncBody()).expect(200);
    await request(app)
      .post("/sync")
      .send(syncBody({ finalizing: true }))
      .expect(200);
    expect(calls.map((c) => c.hook)).toEqual(["sync", "finalize", "sync"]);
  });

  it("expire, and the least recently used goes first", async () => {
    let now = 0;
    const { app, calls } = cachedApp({}, () => now);
    const bodies = [1, 2, 3].map((generation) => syncBody({ controller: { generation } }));
    for (const body of [bodies[0], bodies[1], bodies[0], bodies[2], bodies[0], bodies[1]]) {
      await request(app).post("/sync").send(body).expect(200);
    }
    // 0 and 1 computed, 0 reused, 2 pushes out 1 (least recently used), 0 reused, 1 computed again.
    expect(calls).toHaveLength(4);
    now = 1000;
    await request(app).post("/sync").send(bodies[0]).expect(200);
    expect(calls).toHaveLength(5);
  });

  it("are not reused when the hook asked to be asked again", async () => {
    const { app, calls } = cachedApp({
      sync: (req, now) => {
        calls.push({ hook: "sync", req, now });
        return { status: { phase: "Building" }, children: [], resyncAfterSeconds: 5 };
      },
    });
    await request(app).post("/sync").send(syncBody()).expect(200);
    await request(app).post("/sync").send(syncBody()).expect(200);
    expect(calls).toHaveLength(2);
  });

  it("never keep a failure", async () => {
    let fail = true;
    const { app } = cachedApp({
      sync: () => {
        if (fail) throw new Error("boom");
        return { status: {}, children: [] };
      },
    });
    await request(app).post("/sync").send(syncBody()).expect(500);
    fail = false;
    await request(app).post("/sync").send(syncBody()).expect(200);
  });
});
