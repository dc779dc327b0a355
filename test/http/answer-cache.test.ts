import request from "supertest";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import { DEFAULT_ANSWER_CACHE, createAnswerCache } from "../../src/server/answer-cache.js";
import { createApp } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createMetrics } from "../../src/server/metrics.js";
import { fakeHooks, parent, syncBody } from "./fixtures.js";

function cachedApp(overrides: Parameters<typeof fakeHooks>[0] = {}, clock = () => 0) {
  const fake = fakeHooks(overrides);
  const app = createApp({
    hooks: fake.hooks,
    logger: createLogger("silent"),
    metrics: createMetrics(),
    answerCache: createAnswerCache({ ...DEFAULT_ANSWER_CACHE, entries: 2, ttlMs: 1000 }, clock),
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

describe("the answer cache's memory", () => {
  const answer = (bytes: number) => `{"status":{"message":"${"x".repeat(bytes)}"}}`;

  it("is bounded by bytes: the least recently used answers go first", () => {
    const cache = createAnswerCache({ entries: 100, maxBytes: 35_000, ttlMs: 1000, maxAnswerBytes: 20_000 });
    for (const key of ["a", "b", "c"]) cache.set(key, answer(10_000));
    expect(cache.get("a")).toBeDefined(); // a is now the most recently used
    cache.set("d", answer(10_000));
    expect(cache.size().entries).toBe(3);
    expect(cache.size().bytes).toBeLessThanOrEqual(35_000);
    expect(cache.get("b")).toBeUndefined();
    for (const key of ["a", "c", "d"]) expect(cache.get(key)).toBeDefined();
  });

  it("lets expired answers go without waiting for newer ones to push them out", () => {
    let now = 0;
    const cache = createAnswerCache({ ...DEFAULT_ANSWER_CACHE, ttlMs: 1000 }, () => now);
    for (const key of ["a", "b", "c"]) cache.set(key, answer(1000));
    now = 500;
    cache.set("d", answer(1000));
    now = 1000;
    expect(cache.size().entries).toBe(1);
    now = 1500;
    expect(cache.size()).toEqual({ entries: 0, bytes: 0 });
  });

  it("does not keep the answer for a build with large inline content", async () => {
    const cache = createAnswerCache();
    const hooks = createHooks({ builderImage: "registry.test/bib/builder:test" });
    const calls: string[] = [];
    const app = createApp({
      hooks: { ...hooks, sync: (req, now) => (calls.push("sync"), hooks.sync(req, now)) },
      logger: createLogger("silent"),
      metrics: createMetrics(),
      answerCache: cache,
    });
    const spec = {
      base: { debootstrap: { suite: "bookworm" } },
      files: [{ path: "/etc/large", content: "x".repeat(500 * 1024) }],
    };
    const body = syncBody({ parent: parent({ spec }) });
    const first = await request(app).post("/sync").send(body).expect(200);
    expect(first.text.length).toBeGreaterThan(500 * 1024);
    expect(first.body.children.map((c: { kind: string }) => c.kind)).toContain("ConfigMap");
    await request(app).post("/sync").send(body).expect(200);
    expect(calls).toHaveLength(2);
    expect(cache.size()).toEqual({ entries: 0, bytes: 0 });
  });
});
