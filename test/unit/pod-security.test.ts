// The Pod Security level of each Pod the operator renders (README "Pod Security Standards and the
// build namespace"): the build Pod is `privileged` only because base (debootstrap) and provision add
// SYS_ADMIN; every other container of it would pass baseline. The cleanup Pod and the hook service
// meet `restricted`.
import { readFileSync } from "node:fs";
import type { V1Deployment, V1Job, V1PodSpec } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { newCleanupJob } from "../../src/hooks/children/job.js";
import { createHooks } from "../../src/hooks/index.js";
import { resolvePlan } from "../../src/plan/plan.js";
import { BUILDER_IMAGE, imageBuild, minimalSpec, syncRequest } from "../support/fixtures.js";
import { podSecurityLevel, podSecurityViolations } from "../support/pod-security.js";

const hooks = createHooks({ builderImage: BUILDER_IMAGE });
const T0 = new Date("2026-11-23T10:00:00Z");

function buildPod(spec: Record<string, unknown>): V1PodSpec {
  const job = hooks.sync(syncRequest(imageBuild(spec)), T0).children.find((c) => c.kind === "Job") as V1Job;
  return job.spec!.template.spec!;
}

const BASES = {
  debootstrap: minimalSpec,
  tarball: { base: { tarball: { url: "https://example.com/root.tar.zst", sha256: "a".repeat(64) } } },
  image: { base: { image: "registry.test/library/debian:12" } },
};

describe("the Pod Security Standards level of each rendered Pod", () => {
  for (const [base, spec] of Object.entries(BASES)) {
    it(`build Pod, ${base} base: privileged, for SYS_ADMIN in the containers that mount and chroot only`, () => {
      const pod = buildPod(spec);
      expect(podSecurityLevel(pod)).toBe("privileged");
      const baseline = podSecurityViolations(pod).filter((v) => v.level === "baseline");
      const mounting =
        base === "debootstrap"
          ? ["initContainers base", "initContainers provision"]
          : ["initContainers provision"];
      expect(baseline).toEqual(
        mounting.map((where) => ({ level: "baseline", check: "capabilities_baseline (SYS_ADMIN)", where })),
      );
    });
  }

  it("build Pod: restricted fails only for root and, beside SYS_ADMIN, escalation and capabilities", () => {
    const restricted = podSecurityViolations(buildPod(BASES.image)).filter((v) => v.level === "restricted");
    const checks = new Set(restricted.map((v) => v.check.replace(/ \(.*\)$/, "")));
    expect([...checks].sort()).toEqual([
      "allowPrivilegeEscalation",
      "capabilities_restricted",
      "runAsNonRoot",
      "runAsUser",
    ]);
    // publish (the credentials) and validate would meet restricted but for running as uid 0.
    const publish = restricted.filter((v) => v.where === "containers publish").map((v) => v.check);
    expect(publish).toEqual(["runAsNonRoot", "runAsUser"]);
  });

  it("build Pod with hostUsers: false: still privileged (Pod Security counts SYS_ADMIN)", () => {
    expect(podSecurityLevel(buildPod({ ...minimalSpec, builder: { hostUsers: false } }))).toBe("privileged");
  });

  it("cleanup Pod: restricted", () => {
    const resolved = resolvePlan(imageBuild({ ...minimalSpec, deletionPolicy: "Delete" }));
    if (!resolved.ok) throw new Error("plan");
    const job = newCleanupJob(resolved.plan, { job: "c", configMap: "c", secret: "s" }, BUILDER_IMAGE, {});
    expect(podSecurityViolations(job.spec!.template.spec!)).toEqual([]);
  });

  it("hook service Deployment: restricted", () => {
    const text = readFileSync(new URL("../../config/hooks/deployment.yaml", import.meta.url), "utf8");
    const deployment = parseAllDocuments(text)
      .map((d) => d.toJS() as V1Deployment)
      .find((d) => d.kind === "Deployment")!;
    const template = deployment.spec!.template;
    expect(podSecurityViolations(template.spec!, template.metadata?.annotations ?? {})).toEqual([]);
  });

  it("the stand-in refuses what admission refuses (privileged, hostPath, Unconfined AppArmor, root)", () => {
    const pod = buildPod(BASES.image);
    const publish = pod.containers[0]!;
    const tampered: V1PodSpec = {
      ...pod,
      volumes: [...(pod.volumes ?? []), { name: "host", hostPath: { path: "/" } }],
      containers: [
        {
          ...publish,
          securityContext: {
            ...publish.securityContext,
            privileged: true,
            appArmorProfile: { type: "Unconfined" },
          },
        },
      ],
    };
    const checks = podSecurityViolations(tampered).map((v) => `${v.level}:${v.check}`);
    expect(checks).toEqual(
      expect.arrayContaining([
        "baseline:hostPathVolumes",
        "baseline:privileged",
        "baseline:appArmorProfile",
        "restricted:restrictedVolumes",
      ]),
    );
  });
});
