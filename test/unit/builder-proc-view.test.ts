import { describe, expect, it } from "vitest";
import { buildHostname, meminfoWithoutSwap, PROC_SWAPS_EMPTY } from "../../src/builder/chroot/proc-view.js";

describe("the chroot's /proc view", () => {
  it("hides the build host's swap from meminfo and keeps everything else", () => {
    const host =
      "MemTotal:       24000000 kB\nSwapCached:         12 kB\nSwapTotal:       2097148 kB\nSwapFree:        2000000 kB\n";
    expect(meminfoWithoutSwap(host)).toBe(
      "MemTotal:       24000000 kB\nSwapCached:         0 kB\nSwapTotal:       0 kB\nSwapFree:        0 kB\n",
    );
  });

  it("lists no swap", () => {
    expect(PROC_SWAPS_EMPTY.trimEnd().split("\n")).toHaveLength(1);
  });

  it("names the build after the image, never after the build host", () => {
    expect(buildHostname("node-1\n", "buildhost")).toBe("node-1");
    expect(buildHostname("buildhost\n", "buildhost")).toBe("localhost");
    expect(buildHostname(undefined, "buildhost")).toBe("localhost");
    expect(buildHostname("\n", "buildhost")).toBe("localhost");
  });
});
