import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  EBS_BLOCK_SIZE,
  blocksInRanges,
  isZeroBlock,
  linearChecksum,
  volumeSizeGiB,
} from "../../src/publish/aws/blocks.js";
import { describeAwsError } from "../../src/publish/aws/errors.js";
import { renderAmiName } from "../../src/publish/aws/names.js";
import { backoffMs, isRetryable, pollDelay } from "../../src/publish/aws/retry.js";
import { snapshotClientToken } from "../../src/publish/aws/snapshot.js";
import { parseQemuImgMap } from "../../src/publish/aws/source.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest();

describe("linearChecksum", () => {
  it("is sha256 over the concatenated block digests, in index order", () => {
    const a = sha(Buffer.from("block 0"));
    const b = sha(Buffer.from("block 7"));
    const expected = createHash("sha256")
      .update(Buffer.concat([a, b]))
      .digest("base64");
    expect(linearChecksum([a, b])).toBe(expected);
    expect(linearChecksum([b, a])).not.toBe(expected);
  });
});

describe("isZeroBlock", () => {
  it("finds a single non-zero byte anywhere, aligned or not", () => {
    const block = Buffer.alloc(EBS_BLOCK_SIZE);
    expect(isZeroBlock(block)).toBe(true);
    for (const at of [0, 7, 8, 4095, EBS_BLOCK_SIZE - 1]) {
      block[at] = 1;
      expect(isZeroBlock(block)).toBe(false);
      block[at] = 0;
    }
    const unaligned = Buffer.alloc(1001).subarray(3);
    expect(isZeroBlock(unaligned)).toBe(true);
    unaligned[997] = 9;
    expect(isZeroBlock(unaligned)).toBe(false);
  });
});

describe("blocksInRanges", () => {
  const K = EBS_BLOCK_SIZE;
  it.each([
    { ranges: [{ start: 0, length: 1 }], size: 10 * K, blocks: [0] },
    { ranges: [{ start: K - 1, length: 2 }], size: 10 * K, blocks: [0, 1] },
    {
      ranges: [
        { start: 0, length: K },
        { start: K, length: K },
      ],
      size: 10 * K,
      blocks: [0, 1],
    },
    {
      ranges: [
        { start: 100, length: 10 },
        { start: 200, length: 10 },
      ],
      size: 10 * K,
      blocks: [0],
    },
    { ranges: [{ start: 9 * K + 5, length: 5 * K }], size: 9 * K + 100, blocks: [9] },
    { ranges: [{ start: 3 * K, length: 0 }], size: 10 * K, blocks: [] },
  ])("$ranges over $size bytes -> $blocks", ({ ranges, size, blocks }) => {
    expect([...blocksInRanges(ranges, size)]).toEqual(blocks);
  });

  it("rounds the volume up to whole GiB", () => {
    expect(volumeSizeGiB(1)).toBe(1);
    expect(volumeSizeGiB(2 ** 30)).toBe(1);
    expect(volumeSizeGiB(2 ** 30 + 1)).toBe(2);
  });
});

describe("parseQemuImgMap", () => {
  it("keeps data extents only and merges adjacent ones", () => {
    const json = JSON.stringify([
      { start: 0, length: 100, data: false, zero: true },
      { start: 100, length: 50, data: true, zero: false },
      { start: 150, length: 50, data: true, zero: false },
      { start: 200, length: 10, data: true, zero: true },
      { start: 210, length: 5, data: true, zero: false },
    ]);
    expect(parseQemuImgMap(json)).toEqual([
      { start: 100, length: 100 },
      { start: 210, length: 5 },
    ]);
  });
});

describe("renderAmiName", () => {
  const vars = { name: "golden", namespace: "images", buildId: "0123456789abcdef", timestamp: 1_763_900_000 };

  it("renders CAPA's naming so its default lookup finds the AMI", () => {
    const name = renderAmiName("capa-ami-debian-12-v1.31.2-{{.Timestamp}}", vars);
    expect(name).toBe("capa-ami-debian-12-v1.31.2-1763900000");
    // CAPA's default lookup: "capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*" as an EC2 name filter.
    const filter = "capa-ami-debian-12-?1.31.2-*";
    const regex = new RegExp(`^${filter.replace(/[.]/g, "\\.").replace(/\?/g, ".").replace(/\*/g, ".*")}$`);
    expect(name).toMatch(regex);
  });

  it.each([
    ["{{.Name}}-{{.Namespace}}", "golden-images"],
    ["{{ .BuildID }}", "0123456789abcdef"],
    ["img-{{.Date}}", "img-20251123"],
    ["x {{.Timestamp}} (v1)", "x 1763900000 (v1)"],
  ])("%s -> %s", (template, expected) => {
    expect(renderAmiName(template, vars)).toBe(expected);
  });

  it("rejects unknown variables and names AWS would refuse", () => {
    expect(() => renderAmiName("{{.Version}}-x", vars)).toThrow(
      /unknown template variable \{\{\.Version\}\}/,
    );
    expect(() => renderAmiName("a#b{{.Name}}", vars)).toThrow(/characters AMI names do not allow/);
    expect(() => renderAmiName(`${"x".repeat(120)}{{.BuildID}}`, vars)).toThrow(/3 to 128 characters/);
  });
});

describe("retries", () => {
  const err = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  it.each([
    ["ThrottlingException", 400, true],
    ["RequestThrottledException", 400, true],
    ["RequestLimitExceeded", 503, true],
    ["SlowDown", 503, true],
    ["TooManyRequestsException", 429, true],
    ["Whatever", 429, true],
    ["InternalServerException", 500, true],
    ["Unavailable", 503, true],
    ["ValidationException", 400, false],
    ["AuthFailure", 401, false],
    ["InvalidAMIName.Duplicate", 400, false],
  ])("%s (%i) retryable: %s", (name, status, expected) => {
    expect(isRetryable(err(name, status))).toBe(expected);
  });

  it("retries network errors", () => {
    expect(isRetryable(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(true);
  });

  it("backs off exponentially with full jitter, capped", () => {
    const policy = { maxAttempts: 10, baseMs: 100, capMs: 1000 };
    expect(backoffMs(0, policy, () => 0.999)).toBe(99);
    expect(backoffMs(3, policy, () => 0.5)).toBe(400);
    expect(backoffMs(9, policy, () => 0.999)).toBe(999);
    expect(backoffMs(5, policy, () => 0)).toBe(0);
    expect([0, 1, 2, 3, 10].map((n) => pollDelay(n, 5000))).toEqual([250, 500, 1000, 2000, 5000]);
  });
});

describe("snapshotClientToken", () => {
  const owner = { buildId: "0123456789abcdef", imageBuild: "images/golden" };
  it("is stable for a build, differs per region, ImageBuild and generation, and fits EBS's 64 characters", () => {
    const t = snapshotClientToken(owner, "ab".repeat(32), "us-east-1", 0);
    expect(t).toBe(snapshotClientToken(owner, "ab".repeat(32), "us-east-1", 0));
    expect(t.length).toBeLessThanOrEqual(64);
    expect(snapshotClientToken(owner, "ab".repeat(32), "eu-west-1", 0)).not.toBe(t);
    expect(
      snapshotClientToken({ ...owner, imageBuild: "images/other" }, "ab".repeat(32), "us-east-1", 0),
    ).not.toBe(t);
    expect(snapshotClientToken(owner, "ab".repeat(32), "us-east-1", 1)).not.toBe(t);
  });
});

describe("describeAwsError", () => {
  it("says credentials were rejected, naming the target", () => {
    const e = Object.assign(new Error("The security token included in the request is invalid."), {
      name: "UnrecognizedClientException",
    });
    expect(describeAwsError("publish.aws (us-east-1)", "StartSnapshot", e).message).toBe(
      "publish.aws (us-east-1): credentials rejected: The security token included in the request is invalid.",
    );
    const denied = Object.assign(new Error("not authorized"), { name: "UnauthorizedOperation" });
    expect(describeAwsError("publish.aws (us-east-1)", "RegisterImage", denied).message).toMatch(
      /^publish\.aws \(us-east-1\): RegisterImage not allowed for these credentials/,
    );
  });
});
