import { describe, expect, it } from "vitest";
import { resolvePlan, type BuildPlan } from "../../src/plan/plan.js";
import { podLayout } from "../../src/plan/stage-table.js";
import type { RunnerStep } from "../../src/builder/runner.js";
import { buildSteps, stageCommandSteps, STAGE_COMMANDS, type StageCommand } from "../../src/builder/steps.js";
import { imageBuild } from "../support/fixtures.js";

function plan(spec: Record<string, unknown>): BuildPlan {
  const result = resolvePlan(imageBuild({ base: { debootstrap: { suite: "bookworm" } }, ...spec }));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

const publish: RunnerStep = { name: "publish", stage: "publish", run: async () => {} };
const names = (steps: RunnerStep[]) => steps.map((s) => `${s.stage}/${s.name}`);

describe("the step list of a plan", () => {
  it("runs base, provision, package, validate and publish in order", () => {
    const p = plan({
      packages: ["curl"],
      files: [{ path: "/etc/motd", content: "x" }],
      provisioners: [{ name: "site", ansible: { playbook: "- hosts: all" } }, { shell: { script: "true" } }],
      formats: ["qcow2", "tgz"],
      validate: { boot: { enabled: true } },
    });
    expect(names(buildSteps(p, publish))).toEqual([
      "base/cache lookup",
      "base/debootstrap",
      "provision/prepare chroot",
      "provision/packages",
      "provision/files",
      'provision/ansible "site"',
      'provision/shell "shell-1"',
      "provision/finish chroot",
      "package/bootable",
      "package/sysprep",
      "package/package",
      "validate/validate",
      "publish/publish",
    ]);
  });

  it("skips bootable for a tree-only build, files when there are none, validate when disabled", () => {
    const p = plan({ formats: ["tgz"], validate: { boot: { enabled: false } } });
    expect(names(buildSteps(p, publish))).toEqual([
      "base/cache lookup",
      "base/debootstrap",
      "provision/prepare chroot",
      "provision/packages",
      "provision/finish chroot",
      "package/sysprep",
      "package/package",
      "publish/publish",
    ]);
  });

  it("pulls and normalizes an image base locally", () => {
    const p = plan({
      base: { image: "registry.test/base:1" },
      formats: ["tgz"],
      validate: { boot: { enabled: false } },
    });
    expect(names(buildSteps(p, publish)).slice(0, 4)).toEqual([
      "base/pull image",
      "base/cache lookup",
      "base/normalize image root",
      "provision/prepare chroot",
    ]);
  });
});

describe("bib stage <name> in the build Pod", () => {
  it("has a command for every builder container the Pod runs", () => {
    for (const base of [{ debootstrap: { suite: "bookworm" } }, { image: "registry.test/base:1" }]) {
      const p = plan({ base, validate: { boot: { enabled: true } } });
      const { init, main } = podLayout(p);
      for (const c of [...init, main].filter((c) => c.image === "builder")) {
        expect(c.command.slice(0, 2)).toEqual(["bib", "stage"]);
        expect(STAGE_COMMANDS).toContain(c.command[2]);
        expect(() => stageCommandSteps(c.command[2] as StageCommand, p, publish)).not.toThrow();
      }
    }
  });

  it("runs together exactly the steps of the local build", () => {
    const p = plan({ packages: ["curl"], formats: ["raw"], validate: { boot: { enabled: true } } });
    const pod = (["base", "provision", "package", "validate", "publish"] as const).flatMap((c) =>
      stageCommandSteps(c, p, publish),
    );
    expect(names(pod)).toEqual(names(buildSteps(p, publish)));
  });

  it("looks up the cache and normalizes the copied image at the start of provision, and refuses `base` for an image", () => {
    const p = plan({ base: { image: "registry.test/base:1" } });
    expect(names(stageCommandSteps("inject-tools", p, publish))).toEqual(["base/inject tools"]);
    expect(names(stageCommandSteps("provision", p, publish)).slice(0, 2)).toEqual([
      "base/cache lookup",
      "base/normalize image root",
    ]);
    expect(() => stageCommandSteps("base", p, publish)).toThrow(
      "base: this plan does not run base in the builder image; its Pod runs inject-tools, base, provision, package, validate, publish",
    );
  });

  it("refuses validate when boot validation is off: the Pod has no such container", () => {
    expect(() =>
      stageCommandSteps("validate", plan({ validate: { boot: { enabled: false } } }), publish),
    ).toThrow(/does not run validate/);
  });
});
