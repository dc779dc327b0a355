import { describe, expect, it } from "vitest";
import { buildTimestamp } from "../../src/builder/stage.js";

describe("bib stage's build timestamp", () => {
  it("comes from BUILD_TIMESTAMP, stable across the Job's retries", () => {
    expect(buildTimestamp({ BUILD_TIMESTAMP: "1795470000" }, () => 0)).toBe(1795470000);
  });

  it("falls back to now when unset, and rejects anything but Unix seconds", () => {
    expect(buildTimestamp({}, () => 1_795_470_000_999)).toBe(1795470000);
    expect(() => buildTimestamp({ BUILD_TIMESTAMP: "2026-11-23" })).toThrow(/Unix seconds/);
  });
});
