// Requests nested thousands of levels deep, through the exported app with the real hooks: each
// used to throw "Maximum call stack size exceeded", a 500 that Metacontroller retries forever.
// JSON bodies are written by hand: JSON.stringify itself overflows on such values.
import request from "supertest";
import { describe, expect, it } from "vitest";
import { MAX_EXTRA_VARS_NESTING } from "../../src/api/schema.js";
import { createHooks } from "../../src/hooks/index.js";
import { createApp } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createMetrics } from "../../src/server/metrics.js";
import { MAX_REQUEST_NESTING } from "../../src/server/request-depth.js";
import { memoryLog } from "./fixtures.js";

/** `{"a":{"a":...1...}}`, `levels` objects deep. */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

function app(level = "debug") {
  const log = memoryLog();
  const server = createApp({
    hooks: createHooks({ builderImage: "registry.test/bib/builder:test" }),
    logger: createLogger(level, log.stream),
    metrics: createMetrics(),
    clock: () => new Date("2026-01-02T03:04:05Z"),
  });
  return { server, log };
}

const parent = (spec: string, status = "{}") =>
  `{"apiVersion":"bib.dev/v1alpha1","kind":"ImageBuild","metadata":{"name":"golden","namespace":"team-a","uid":"u1"},"spec":${spec},"status":${status}}`;
const syncBody = (parentJson: string, finalizing = false) =>
  `{"parent":${parentJson},"children":{"ConfigMap.v1":{},"Secret.v1":{},"Job.batch/v1":{}},"related":{},"finalizing":${finalizing}}`;
const withExtraVars = (vars: string) =>
  `{"base":{"debootstrap":{"suite":"bookworm"}},"provisioners":[{"name":"p","ansible":{"playbook":"- hosts: all\\n","extraVars":${vars}}}]}`;

const post = (server: ReturnType<typeof app>["server"], hook: string, body: string) =>
  request(server).post(`/${hook}`).set("content-type", "application/json").send(body);

function specValid(body: {
  status: { conditions: Array<{ type: string; status: string; message: string }> };
}) {
  return body.status.conditions.find((c) => c.type === "SpecValid")!;
}

describe("a spec nested too deep", () => {
  it("extraVars 6000 levels deep: SpecValid=False naming the field and the limit", async () => {
    const { server, log } = app();
    const res = await post(server, "sync", syncBody(parent(withExtraVars(`{"x":${nested(6000)}}`)))).expect(
      200,
    );
    const condition = specValid(res.body);
    expect(condition.status).toBe("False");
    expect(condition.message).toContain(
      `spec.provisioners[0].ansible.extraVars: nested more than ${MAX_EXTRA_VARS_NESTING} levels deep`,
    );
    expect(res.body.status.buildId).toMatch(/^[0-9a-f]{16}$/);
    expect(res.body.children).toEqual([]);
    expect(log.text()).toContain("not logged: nested more than");
  });

  it("extraVars at the limit are accepted, one level more is not", async () => {
    const { server } = app();
    // extraVars itself is level 1.
    const at = await post(
      server,
      "sync",
      syncBody(parent(withExtraVars(nested(MAX_EXTRA_VARS_NESTING)))),
    ).expect(200);
    expect(specValid(at.body).status).toBe("True");
    const over = await post(
      server,
      "sync",
      syncBody(parent(withExtraVars(nested(MAX_EXTRA_VARS_NESTING + 1)))),
    ).expect(200);
    expect(specValid(over.body).status).toBe("False");
  });

  it("a whole spec 9000 levels deep: customize answers, sync says which field is wrong", async () => {
    const { server } = app();
    const spec = `{"base":{"debootstrap":{"suite":"bookworm"}},"a":${nested(9000)}}`;
    const customize = await post(server, "customize", `{"parent":${parent(spec)}}`).expect(200);
    expect(customize.body.relatedResources[0]).toMatchObject({ resource: "pods" });
    const sync = await post(server, "sync", syncBody(parent(spec))).expect(200);
    expect(specValid(sync.body)).toMatchObject({
      status: "False",
      message: "invalid spec: spec.a: unknown field",
    });
    const finalize = await post(server, "finalize", syncBody(parent(spec), true)).expect(200);
    expect(finalize.body.finalized).toBe(true);
  });

  it("gives each deep spec its own buildId", async () => {
    const { server } = app();
    const ids = new Set<string>();
    for (const depth of [5000, 5001]) {
      const res = await post(server, "sync", syncBody(parent(withExtraVars(nested(depth))))).expect(200);
      ids.add(res.body.status.buildId);
    }
    expect(ids.size).toBe(2);
  });
});

describe("an envelope nested too deep", () => {
  it("is a 400 naming where, for the parent's status as for a child", async () => {
    const { server } = app("info");
    const spec = withExtraVars("{}");
    const deepStatus = await post(server, "sync", syncBody(parent(spec, `{"x":${nested(9000)}}`))).expect(
      400,
    );
    expect(deepStatus.body.issues).toEqual([
      `parent.status.x.a.a.a.a.a...: nested more than ${MAX_REQUEST_NESTING} levels deep`,
    ]);
    const child = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":${nested(MAX_REQUEST_NESTING)}}`;
    const deepChild = `{"parent":${parent(spec)},"children":{"ConfigMap.v1":{"c":${child}}},"related":{}}`;
    const res = await post(server, "sync", deepChild).expect(400);
    expect(res.body.issues[0]).toMatch(
      /^children\.ConfigMap\.v1\.c\.data(\.a)+\.\.\.: nested more than 100 levels deep$/,
    );
  });

  it("just within the limit is answered", async () => {
    const { server } = app("info");
    const spec = withExtraVars("{}");
    await post(server, "sync", syncBody(parent(spec, nested(MAX_REQUEST_NESTING - 2)))).expect(200);
  });
});
