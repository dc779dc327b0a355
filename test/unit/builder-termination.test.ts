import { describe, expect, it } from "vitest";
import { TERMINATION_MESSAGE_MAX_BYTES } from "../../src/api/constants.js";
import { buildResultSchema, type BuildResult } from "../../src/api/schema.js";
import { terminationMessage } from "../../src/builder/termination.js";

const artifact = (i: number) => ({
  format: "qcow2" as const,
  size: i,
  sha256: "a".repeat(64),
  location: `s3://bucket/prefix/image-${i}.qcow2`,
});
const image = (i: number) => ({
  provider: "aws",
  region: `region-${i}`,
  imageId: `ami-${String(i).padStart(17, "0")}`,
  snapshotId: `snap-${String(i).padStart(17, "0")}`,
  name: `capa-ami-debian-12-v1.31.2-${"x".repeat(60)}-${i}`,
});

describe("the termination message", () => {
  it("is the compact JSON of a result that fits", () => {
    const result: BuildResult = { artifacts: [artifact(1)], images: [image(1)] };
    expect(terminationMessage(result)).toBe(JSON.stringify(result));
  });

  it("never exceeds 4096 bytes and stays valid JSON the hook can parse", () => {
    const result: BuildResult = {
      artifacts: Array.from({ length: 5 }, (_, i) => artifact(i)),
      images: Array.from({ length: 40 }, (_, i) => image(i)),
    };
    expect(JSON.stringify(result).length).toBeGreaterThan(TERMINATION_MESSAGE_MAX_BYTES);
    const message = terminationMessage(result);
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(TERMINATION_MESSAGE_MAX_BYTES);
    const parsed = buildResultSchema.parse(JSON.parse(message));
    expect(parsed.artifacts).toHaveLength(5);
    expect(parsed.images.length).toBeGreaterThan(10);
    expect(parsed.images[0]).toEqual({
      provider: "aws",
      region: "region-0",
      imageId: image(0).imageId,
      snapshotId: image(0).snapshotId,
    });
  });
});
