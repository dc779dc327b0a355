// Keys the user chooses (Secret keys, extraVars, tags, nodeSelector) that are also names of
// Object.prototype's properties, sent as Metacontroller sends them: JSON text, parsed by the app.
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import { makeApp, parent, secret } from "./fixtures.js";

const BUILTIN_KEYS = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"];
const hooks = createHooks({ builderImage: "registry.test/bib/builder:test" });
const b64 = (s: string) => Buffer.from(s).toString("base64");

function specWith(extraVars: string, secretKey: string): string {
  return `{"base":{"debootstrap":{"suite":"bookworm"}},"provisioners":[{"ansible":{"playbook":"- hosts: all","extraVars":${extraVars},"extraVarsSecretRef":{"name":"vault","key":${JSON.stringify(secretKey)}}}}]}`;
}

/** A sync request as JSON text, so that a `__proto__` key arrives as data, as it does from the wire. */
function body(spec: string, secretData: string): string {
  const vault = JSON.stringify({ ...secret("vault", {}), data: "DATA" }).replace('"DATA"', secretData);
  const p = JSON.stringify(parent({ spec: "SPEC" })).replace('"SPEC"', spec);
  return `{"controller":{},"parent":${p},"children":{},"related":{"Secret.v1":{"vault":${vault}}},"finalizing":false}`;
}

async function sync(text: string) {
  const { app } = makeApp({ hooks });
  const res = await request(app).post("/sync").set("Content-Type", "application/json").send(text).expect(200);
  return res.body as {
    status: {
      buildId: string;
      conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    };
    children: Array<{ kind: string; data?: Record<string, unknown> }>;
  };
}
const condition = (r: Awaited<ReturnType<typeof sync>>, type: string) =>
  r.status.conditions?.find((c) => c.type === type);

describe("keys named like Object built-ins", () => {
  it.each(BUILTIN_KEYS)("a Secret without key %s does not count as having it", async (key) => {
    const r = await sync(body(specWith("{}", key), `{"other":"${b64("value-123")}"}`));
    expect(condition(r, "SecretsResolved")).toMatchObject({ status: "False", reason: "SecretKeyNotFound" });
    expect(condition(r, "SecretsResolved")?.message).toBe(`Secret "vault" has no key "${key}"`);
    expect(r.children.map((c) => c.kind)).toEqual(["ConfigMap"]);
  });

  it.each(BUILTIN_KEYS)("a Secret with key %s is projected as the string it holds", async (key) => {
    const value = b64("vars: {a: 1}");
    const r = await sync(body(specWith("{}", key), `{${JSON.stringify(key)}:"${value}"}`));
    expect(condition(r, "SecretsResolved")).toMatchObject({ status: "True" });
    const child = r.children.find((c) => c.kind === "Secret")!;
    expect(child.data).toEqual({ "provisioner-0.extra-vars": value });
  });

  it("refuses a __proto__ key in extraVars by name, and the key changes the buildId", async () => {
    const plain = await sync(body(specWith('{"a":1}', "vars"), `{"vars":"${b64("{}")}"}`));
    const proto = await sync(
      body(specWith('{"a":1,"__proto__":{"b":2}}', "vars"), `{"vars":"${b64("{}")}"}`),
    );
    expect(condition(plain, "SpecValid")).toMatchObject({ status: "True" });
    expect(condition(proto, "SpecValid")).toMatchObject({ status: "False" });
    expect(condition(proto, "SpecValid")?.message).toBe(
      'invalid spec: spec.provisioners[0].ansible.extraVars.__proto__: the key "__proto__" is not supported',
    );
    expect(proto.status.buildId).not.toBe(plain.status.buildId);
  });

  it("keeps a constructor key in extraVars and in the plan", async () => {
    const r = await sync(
      body(specWith('{"constructor":"c","toString":"t"}', "vars"), `{"vars":"${b64("{}")}"}`),
    );
    expect(condition(r, "SpecValid")).toMatchObject({ status: "True" });
    const plan = JSON.parse(String(r.children.find((c) => c.kind === "ConfigMap")!.data!["plan.json"]));
    expect(plan.provisioners[0].extraVars).toEqual({ constructor: "c", toString: "t" });
  });
});
