import { describe, expect, it } from "vitest";
import { IMAGE_IDS, idMapProblem, parseIdMap } from "../../src/util/user-namespace.js";

const both = (text: string) => ({ uid: parseIdMap(text), gid: parseIdMap(text) });

describe("the stage containers' id maps", () => {
  it("reads /proc/self/uid_map lines", () => {
    expect(parseIdMap("         0 2147483647      65536\n")).toEqual([
      { inside: 0, outside: 2147483647, size: 65536 },
    ]);
    expect(() => parseIdMap("0 x 1\n")).toThrow(/not an id map line: "0 x 1"/);
  });

  it("accepts the node's own users and a namespace of the kubelet's 65536 ids", () => {
    expect(IMAGE_IDS).toBe(65536);
    expect(idMapProblem(both("0 0 4294967295\n"))).toBeUndefined();
    expect(idMapProblem(both("0 2147483647 65536\n"))).toBeUndefined();
    // Several ranges that together cover 0..65535.
    expect(idMapProblem(both("0 100000 1000\n1000 300000 64536\n"))).toBeUndefined();
  });

  it("refuses podman's default --userns=auto size (1024 ids), naming the first unmapped uid and the cause", () => {
    const problem = idMapProblem(both("0 2147483647 1024\n"));
    expect(problem).toContain('leaves uid 1024 unmapped (uid_map "0 2147483647 1024")');
    expect(problem).toContain("an image root needs uids 0-65535");
    expect(problem).toContain("spec.builder.hostUsers: false");
    expect(problem).toContain("map 65536 ids per Pod");
  });

  it("refuses a gap in the ranges and a map that lacks uid 0", () => {
    expect(idMapProblem(both("0 100000 1000\n2000 300000 64000\n"))).toContain("leaves uid 1000 unmapped");
    expect(idMapProblem(both("1 100000 65536\n"))).toContain("leaves uid 0 unmapped");
  });

  it("checks the gid map too", () => {
    const problem = idMapProblem({ uid: parseIdMap("0 0 4294967295"), gid: parseIdMap("0 5000 100") });
    expect(problem).toContain('leaves gid 100 unmapped (gid_map "0 5000 100")');
  });
});
