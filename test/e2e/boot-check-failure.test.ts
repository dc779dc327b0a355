// A spec.validate.boot.checks entry that fails inside the booted test VM fails the validate step
// with a message naming the check, its exit status and its last output lines; the checks before it
// are reported as passed; the artifact stays byte for byte what the package stage produced.
// Drives bootable -> sysprep -> package -> validate on a cached debootstrapped tree (one boot).
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/plan/artifact.js";
import { bootable } from "../../src/builder/stages/bootable.js";
import { packageStep } from "../../src/builder/stages/package.js";
import { sysprep } from "../../src/builder/stages/sysprep.js";
import { CHECKS_STATE_FILE, validate } from "../../src/builder/stages/validate.js";
import { run } from "../../src/util/exec.js";
import { debianRootfs } from "./support/debian-rootfs.js";
import { diskContext } from "./support/disk-context.js";

const CHECKS = [
  { name: "root filesystem mounted", run: "grep -q ' / ext4 ' /proc/mounts" },
  {
    name: "deliberately failing",
    run: "echo 'first line of the failure'; echo 'second line of the failure' >&2; exit 3",
  },
];

let ctx: Awaited<ReturnType<typeof diskContext>>;
let packaged: Artifact;
let error: Error | undefined;
const logLines: string[] = [];

beforeAll(async () => {
  const tree = await debianRootfs({
    suite: "bookworm",
    variant: "minbase",
    include: ["systemd-sysv", "linux-image-cloud-amd64", "udev"],
  });
  ctx = await diskContext("check-fails", {
    base: { debootstrap: { suite: "bookworm" } },
    formats: ["qcow2"],
    disk: { size: "2Gi", bootMode: "uefi" },
    validate: { boot: { timeoutSeconds: 900, expect: ["login:"], checks: CHECKS } },
  });
  ctx.log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
        done();
      },
    }),
  );
  await rm(path.join(ctx.workspace, "rootfs"), { recursive: true });
  await run("cp", ["-a", tree, path.join(ctx.workspace, "rootfs")]);
  for (const step of [bootable, sysprep, packageStep]) await step.run(ctx);
  const artifacts = JSON.parse(
    await readFile(path.join(ctx.workspace, "state", "artifacts.json"), "utf8"),
  ) as Artifact[];
  packaged = artifacts[0]!;
  const started = Date.now();
  error = await validate.run(ctx).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  console.log(`validate with a failing check: ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

afterAll(async () => {
  if (ctx) await rm(ctx.workspace, { recursive: true, force: true });
});

describe("a boot check that fails inside the test VM", () => {
  it("fails validate naming the check, exit status 3 and its last output lines", () => {
    expect(error?.message).toMatch(/^validate: boot: check "deliberately failing" exited with status 3; /);
    expect(error!.message).toContain("last lines:\nfirst line of the failure\nsecond line of the failure");
    expect(error!.message).toContain("second line of the failure (1/2 checks passed, ovmf, ");
  });

  it("reports the check before it as passed, in the log and the checks summary", async () => {
    const messages = logLines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain('validate: check "root filesystem mounted" passed');
    expect(messages).toContain('validate: check "deliberately failing" failed');
    const summary = JSON.parse(
      await readFile(path.join(ctx.workspace, "state", CHECKS_STATE_FILE), "utf8"),
    ) as unknown;
    expect(summary).toEqual({
      checks: [
        { name: "root filesystem mounted", status: 0 },
        { name: "deliberately failing", status: 3 },
      ],
      total: 2,
    });
  });

  it("leaves the qcow2 exactly as the package stage recorded it", async () => {
    expect(packaged.format).toBe("qcow2");
    const [sum] = (await run("sha256sum", [packaged.path])).stdout.split(" ");
    expect(sum).toBe(packaged.sha256);
  });
});
