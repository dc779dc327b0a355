import { describe, expect, it } from "vitest";
import { oncePerInterval } from "../../src/server/log-limiter.js";

describe("oncePerInterval", () => {
  it("lets one line through per interval and reports how many it left out", () => {
    let now = 0;
    const limited = oncePerInterval(1000, () => now);
    const written: number[] = [];
    for (const t of [0, 10, 500, 999, 1000, 1001, 2500]) {
      now = t;
      limited((suppressed) => written.push(suppressed));
    }
    // 0 written; 10, 500, 999 left out; 1000 written (3 left out); 1001 left out; 2500 written (1).
    expect(written).toEqual([0, 3, 1]);
  });
});
