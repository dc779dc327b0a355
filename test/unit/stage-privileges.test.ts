// Least privilege per stage: the Job gives each container exactly the security of its stage-table
// entry, only the stages that mount or chroot get SYS_ADMIN and SYS_CHROOT, and
// allowPrivilegeEscalation is false everywhere the API server allows it.
import type { V1Container, V1Job } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createHooks } from "../../src/hooks/index.js";
import type { SyncResponse } from "../../src/hooks/types.js";
import { BUILD_CAPABILITIES, STAGE_TABLE } from "../../src/plan/stage-table.js";
import { BUILDER_IMAGE, imageBuild, minimalSpec, syncRequest } from "../support/fixtures.js";
import { validateChild, type ChildObject } from "../support/k8s-validate.js";

const hooks = createHooks({ builderImage: BUILDER_IMAGE });
const T0 = new Date("2026-11-23T10:00:00Z");

function containersOf(spec: Record<string, unknown>): Record<string, V1Container> {
  const r: SyncResponse = hooks.sync(syncRequest(imageBuild(spec)), T0);
  const job = r.children.find((c) => c.kind === "Job") as V1Job;
  // What the API server would refuse (e.g. allowPrivilegeEscalation: false beside SYS_ADMIN).
  expect(validateChild(job as unknown as ChildObject)).toEqual([]);
  const pod = job.spec!.template.spec!;
  return Object.fromEntries([...pod.initContainers!, ...pod.containers].map((c) => [c.name, c]));
}

const added = (c: V1Container | undefined) => c?.securityContext?.capabilities?.add ?? [];
const IN_CHROOT = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "SETUID",
  "SETGID",
  "SETFCAP",
  "SYS_CHROOT",
  "SYS_ADMIN",
];
const NOTHING = {
  privileged: false,
  runAsUser: 0,
  runAsNonRoot: false,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};

describe("least privilege per stage", () => {
  it("gives SYS_ADMIN and SYS_CHROOT only to debootstrap and provision (debootstrap base)", () => {
    const byName = containersOf(minimalSpec);
    expect(Object.keys(byName)).toEqual(["base", "provision", "package", "validate", "publish"]);
    for (const name of ["base", "provision"]) {
      expect(added(byName[name])).toEqual(IN_CHROOT);
      expect(byName[name]!.securityContext?.allowPrivilegeEscalation).toBeUndefined();
      expect(byName[name]!.securityContext?.privileged).toBe(false);
    }
    expect(byName.package!.securityContext).toEqual({
      ...NOTHING,
      capabilities: { drop: ["ALL"], add: ["DAC_OVERRIDE", "FOWNER"] },
    });
    expect(byName.validate!.securityContext).toEqual(NOTHING);
    expect(byName.publish!.securityContext).toEqual(NOTHING);
  });

  it("gives the user's base image only what the copier needs, the injector nothing", () => {
    const byName = containersOf({ ...minimalSpec, base: { image: "registry.test/library/debian:12" } });
    expect(byName["inject-tools"]!.securityContext).toEqual(NOTHING);
    expect(byName.base!.image).toBe("registry.test/library/debian:12");
    expect(byName.base!.securityContext).toEqual({
      ...NOTHING,
      capabilities: { drop: ["ALL"], add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"] },
    });
    expect(added(byName.provision)).toEqual(IN_CHROOT);
  });

  it("extracts a tarball base without mounting, chrooting or making device nodes", () => {
    const byName = containersOf({
      ...minimalSpec,
      base: { tarball: { url: "https://example.com/root.tar.zst", sha256: "a".repeat(64) } },
    });
    expect(byName.base!.securityContext).toEqual({
      ...NOTHING,
      capabilities: { drop: ["ALL"], add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETFCAP"] },
    });
  });

  it("declares SYS_ADMIN only in entries that chroot, MKNOD nowhere, and `bib build` gets the union", () => {
    for (const entry of STAGE_TABLE) {
      const caps: readonly string[] = entry.security.capabilities;
      expect(caps.includes("SYS_ADMIN"), entry.does).toBe(entry.chroot);
      expect(caps.includes("SYS_CHROOT"), entry.does).toBe(entry.chroot);
      expect(caps).not.toContain("MKNOD");
      // The API server allows `false` wherever SYS_ADMIN is absent, so it is set there.
      expect(entry.security.allowPrivilegeEscalation, entry.does).toBe(entry.chroot ? undefined : false);
    }
    expect([...BUILD_CAPABILITIES].sort()).toEqual([...IN_CHROOT].sort());
  });
});

describe("spec.builder.hostUsers", () => {
  const podSpec = (builder: Record<string, unknown>) => {
    const r: SyncResponse = hooks.sync(syncRequest(imageBuild({ ...minimalSpec, builder })), T0);
    const job = r.children.find((c) => c.kind === "Job") as V1Job;
    expect(validateChild(job as unknown as ChildObject)).toEqual([]);
    return job.spec!.template.spec!;
  };

  it("puts the build Pod in a user namespace of its own when false", () => {
    expect(podSpec({ hostUsers: false }).hostUsers).toBe(false);
  });

  it("leaves the field out otherwise (the node's users, Kubernetes' default)", () => {
    expect(podSpec({}).hostUsers).toBeUndefined();
    expect(podSpec({ hostUsers: true }).hostUsers).toBeUndefined();
  });

  it("refuses a value that is not a boolean, naming the field", () => {
    const r = hooks.sync(syncRequest(imageBuild({ ...minimalSpec, builder: { hostUsers: "no" } })), T0);
    expect(r.children.some((c) => c.kind === "Job")).toBe(false);
    expect(JSON.stringify(r.status)).toContain("spec.builder.hostUsers");
  });
});
