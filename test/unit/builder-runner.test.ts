import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { StepError, type StageContext } from "../../src/builder/stage.js";
import { redactedError, runSteps, timingTable, type RunnerStep } from "../../src/builder/runner.js";
import { mountOptions, mountsUnder, parseMountPoints } from "../../src/builder/chroot/mountinfo.js";

function context(signal = new AbortController().signal): StageContext {
  return {
    plan: {} as StageContext["plan"],
    planDir: "/p",
    workspace: "/w",
    secretsDir: "/s",
    configMapsDir: "/c",
    volumeRoot: "/v",
    timestamp: 0,
    log: pino({ level: "silent" }),
    progress: { update() {} },
    signal,
  };
}

function recorder() {
  const events: string[] = [];
  const step = (name: string, stage: RunnerStep["stage"], fail = false): RunnerStep => ({
    name,
    stage,
    async run() {
      events.push(`run ${name}`);
      if (fail) throw new Error("it broke");
    },
    async cleanup() {
      events.push(`cleanup ${name}`);
    },
  });
  return { events, step };
}

describe("runSteps", () => {
  it("runs steps in order, times each, and cleans up newest first", async () => {
    const { events, step } = recorder();
    const outcome = await runSteps([step("a", "base"), step("b", "provision")], context(), {}, async () => {
      events.push("sweep");
    });
    expect(outcome.error).toBeUndefined();
    expect(events).toEqual(["run a", "run b", "cleanup b", "cleanup a", "sweep"]);
    expect(outcome.timings.map((t) => [t.stage, t.step, t.outcome])).toEqual([
      ["base", "a", "ok"],
      ["provision", "b", "ok"],
    ]);
    expect(timingTable(outcome.timings)).toMatch(/provision\s+b\s+ok\s+\d+\.\d\n\s+total/);
  });

  it("stops at a failure with one error naming stage and step, skips the rest, still cleans up", async () => {
    const { events, step } = recorder();
    const outcome = await runSteps(
      [step("a", "base"), step("b", "provision", true), step("c", "package")],
      context(),
    );
    expect(outcome.error?.message).toBe("provision: b: it broke");
    expect(outcome.timings.map((t) => t.outcome)).toEqual(["ok", "failed", "skipped"]);
    expect(events).toEqual(["run a", "run b", "cleanup b", "cleanup a"]);
  });

  it("reports an abort as the failure of the running step", async () => {
    const controller = new AbortController();
    const slow: RunnerStep = {
      name: "slow",
      stage: "provision",
      run: () =>
        new Promise((_, reject) =>
          controller.signal.addEventListener("abort", () => reject(new Error("killed"))),
        ),
    };
    setTimeout(() => controller.abort("interrupted by SIGTERM"), 10);
    const outcome = await runSteps([slow, { ...slow, name: "next" }], context(controller.signal));
    expect(outcome.error?.message).toBe("provision: slow: interrupted by SIGTERM");
    expect(outcome.timings.map((t) => t.outcome)).toEqual(["failed", "skipped"]);
  });

  it("turns a failed cleanup into an error even when every step passed", async () => {
    const outcome = await runSteps(
      [{ name: "a", stage: "provision", run: async () => {} }],
      context(),
      {},
      async () => {
        throw new Error("still mounted: /w/rootfs/proc");
      },
    );
    expect(outcome.error?.message).toMatch(/cleanup: still mounted: \/w\/rootfs\/proc/);
  });

  it("keeps the stage and step a failure names as data, and names the runner's step otherwise", async () => {
    const named = await runSteps(
      [
        {
          name: "validate",
          stage: "validate",
          run: async () => {
            throw new StepError("validate", "boot", "no login: prompt");
          },
        },
      ],
      context(),
    );
    expect(named.error).toMatchObject({ stage: "validate", step: "boot", detail: "no login: prompt" });
    expect(named.error?.message).toBe("validate: boot: no login: prompt");
    // A plain message that merely starts like a prefix is not taken for one.
    const plain = await runSteps(
      [
        {
          name: "package",
          stage: "package",
          run: async () => {
            throw new Error("package: disk too small");
          },
        },
      ],
      context(),
    );
    expect(plain.error).toMatchObject({ stage: "package", step: "package" });
    expect(plain.error?.message).toBe("package: package: package: disk too small");
  });

  it("takes secret values out of the step and the detail, keeping them as data", () => {
    const error = new StepError("provision", "ansible-0", "password hunter2 refused");
    const redacted = redactedError(error, (t) => t.replaceAll("hunter2", "[redacted]"));
    expect(redacted).toMatchObject({
      stage: "provision",
      step: "ansible-0",
      detail: "password [redacted] refused",
    });
    expect(redacted.message).toBe("provision: ansible-0: password [redacted] refused");
    expect(redactedError(error, (t) => t)).toBe(error);
  });
});

describe("mountinfo", () => {
  const info = [
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "40 22 0:5 / /w/rootfs/proc rw - proc proc rw",
    "41 22 0:6 / /w/rootfs/dev rw - tmpfs tmpfs rw",
    "42 41 0:7 / /w/rootfs/dev/pts rw - devpts devpts rw",
    "43 22 0:8 / /w/root\\040fs rw - tmpfs tmpfs rw",
  ].join("\n");

  it("lists mounts under a directory deepest first, escapes decoded", () => {
    expect(parseMountPoints(info)).toContain("/w/root fs");
    expect(mountsUnder(parseMountPoints(info), "/w/rootfs")).toEqual([
      "/w/rootfs/dev/pts",
      "/w/rootfs/dev",
      "/w/rootfs/proc",
    ]);
  });

  it("leaves out the directory itself (the Pod's workspace volume is a mount point)", () => {
    const pod = [
      "22 1 8:1 / / rw - overlay overlay rw",
      "30 22 0:9 / /workspace rw,nodev - ext4 /dev/sdb rw",
    ];
    expect(
      mountsUnder(
        parseMountPoints([...pod, "31 30 0:5 / /workspace/rootfs/proc rw - proc proc rw"].join("\n")),
        "/workspace",
      ),
    ).toEqual(["/workspace/rootfs/proc"]);
    expect(mountsUnder(parseMountPoints(pod.join("\n")), "/workspace")).toEqual([]);
  });

  it("reads the options of the mount stacked last at a point (nodev on podman's emptyDir)", () => {
    const text = [
      "22 1 8:1 / / rw - overlay overlay rw",
      "30 22 0:9 / /workspace rw,relatime - ext4 /dev/sdb rw",
      "31 30 0:9 /v /workspace rw,nodev,relatime - ext4 /dev/sdb rw",
      "32 31 0:5 / /workspace/rootfs/proc rw,nosuid - proc proc rw",
    ].join("\n");
    expect(mountOptions(text, "/workspace")).toEqual(["rw", "nodev", "relatime"]);
    expect(mountOptions(text, "/work")).toBeUndefined();
  });
});
