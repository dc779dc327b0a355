// The tree cache as the build Pod uses it: `bib stage base`, `provision` and `package` as separate
// processes over one workspace (the emptyDir), the cache directory being the mounted
// spec.builder.cacheClaimName. Without the claim (no cache directory) nothing is cached, as before.
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writePlanDir } from "../../src/builder/plan-dir.js";
import { resolvePlan } from "../../src/plan/plan.js";
import { run } from "../../src/util/exec.js";
import { bib } from "./support/bib-cli.js";
import { minbaseTarball } from "./support/minbase-tarball.js";

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp("/var/tmp/bib-tree-cache-pod-");
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function planDir(name: string, script: string): Promise<string> {
  const base = await minbaseTarball();
  const resolved = resolvePlan({
    metadata: { name: "pod-cache", namespace: "default" },
    spec: {
      base: { tarball: { url: `file://${base.file}`, sha256: base.sha256 } },
      provisioners: [
        { name: "first", shell: { script: "echo first > /etc/first\n" } },
        { name: "last", shell: { script } },
      ],
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
      builder: { cacheClaimName: "bib-cache" },
    },
  });
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  const dir = path.join(tmp, name, "plan");
  await writePlanDir(dir, resolved.plan);
  return dir;
}

/**
 * The Pod's containers in order (all, or only the first ones); returns each step's outcome from the
 * stages' timing logs and what the image holds in /etc/first and /etc/last: from the tgz when
 * package ran, else from the tree provision left.
 */
async function pod(
  name: string,
  script: string,
  cache: string,
  stages = ["base", "provision", "package"],
): Promise<Record<string, string>> {
  const plan = await planDir(name, script);
  const workspace = path.join(tmp, name, "workspace");
  const secrets = path.join(tmp, name, "secrets");
  const configmaps = path.join(tmp, name, "configmaps");
  for (const d of [workspace, secrets, configmaps]) await mkdir(d, { recursive: true });
  const outcomes: Record<string, string> = {};
  for (const stage of stages) {
    const flags = ["--plan", plan, "--secrets", secrets, "--configmaps", configmaps];
    const result = await bib(["stage", stage, ...flags, "--workspace", workspace, "--cache", cache]);
    if (result.code !== 0) throw new Error(`${stage} failed: ${result.stderr}`);
    for (const line of result.stdout.split("\n")) {
      if (!line.includes('"timings"')) continue;
      for (const t of (JSON.parse(line) as { timings: Array<{ step: string; outcome: string }> }).timings)
        outcomes[t.step] = t.outcome;
    }
  }
  if (!stages.includes("package")) {
    outcomes.last_file = await readFile(path.join(workspace, "rootfs/etc/last"), "utf8");
    outcomes.first_file = await readFile(path.join(workspace, "rootfs/etc/first"), "utf8");
    return outcomes;
  }
  const artifacts = path.join(workspace, "artifacts");
  const tgz = path.join(
    artifacts,
    (await readdir(artifacts)).find((f) => f.endsWith(".tar.gz"))!,
  );
  outcomes.last_file = (await run("tar", ["-xOzf", tgz, "./etc/last"])).stdout;
  outcomes.first_file = (await run("tar", ["-xOzf", tgz, "./etc/first"])).stdout;
  return outcomes;
}

describe("the tree cache in the build Pod", () => {
  it("saves entries on the claim and restores them in a later Pod that changed only the last step", async () => {
    const claim = path.join(tmp, "claim");
    await mkdir(claim);
    // The cold Pod's entries are saved by provision; its package stage has nothing to show here.
    const cold = await pod("cold", "echo one > /etc/last\n", claim, ["base", "provision"]);
    expect([cold.tarball, cold['shell "first"'], cold['shell "last"']]).toEqual(["ok", "ok", "ok"]);
    const warm = await pod("warm", "echo two > /etc/last\n", claim);
    expect([warm.tarball, warm.packages, warm['shell "first"'], warm['shell "last"']]).toEqual([
      "cached",
      "cached",
      "cached",
      "ok",
    ]);
    expect(warm.first_file).toBe("first\n");
    expect(warm.last_file).toBe("two\n");
  });

  it("caches nothing without a claim (no cache directory), building every step as before", async () => {
    // Not under a pod's own directory (pod() creates tmp/<name>/), so it really does not exist.
    const missing = path.join(tmp, "absent-claim");
    const built = await pod("no-claim", "echo one > /etc/last\n", missing, ["base", "provision"]);
    expect([built.tarball, built['shell "first"'], built['shell "last"']]).toEqual(["ok", "ok", "ok"]);
    expect(built.last_file).toBe("one\n");
    expect(await readdir(path.join(missing, "trees")).catch(() => [])).toEqual([]);
  });
});
