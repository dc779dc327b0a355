import { describe, expect, it } from "vitest";
import { describeAnsibleFailure, parseAnsibleFailure } from "../../src/builder/provision/ansible-output.js";

const ok = `PLAY [all] *********************************************************************

TASK [install the unit] ********************************************************
changed: [/var/tmp/ws/rootfs]
`;

describe("parseAnsibleFailure", () => {
  it("names the failing task and Ansible's message", () => {
    const out = `${ok}
TASK [enable the unit] *********************************************************
fatal: [/var/tmp/ws/rootfs]: FAILED! => {"changed": false, "msg": "Could not find the requested service nope: host"}

PLAY RECAP *********************************************************************
/var/tmp/ws/rootfs : ok=1    changed=1    unreachable=0    failed=1
`;
    expect(parseAnsibleFailure(out)).toEqual({
      task: "enable the unit",
      message: "Could not find the requested service nope: host",
    });
  });

  it("skips failures Ansible was told to ignore", () => {
    const out = `TASK [may fail] ****
fatal: [h]: FAILED! => {"msg": "ignored one"}
...ignoring

TASK [really fails] ****
fatal: [h]: FAILED! => {"rc": 2, "stderr": "boom", "msg": "non-zero return code"}
`;
    expect(parseAnsibleFailure(out)).toEqual({ task: "really fails", message: "non-zero return code" });
    expect(parseAnsibleFailure(out.split("\n").slice(0, 3).join("\n"))).toBeUndefined();
  });

  it("reads loop items and unreachable hosts, and keeps non-JSON results as text", () => {
    expect(parseAnsibleFailure('TASK [loop] **\nfailed: [h] (item=a) => {"msg": "item a broke"}\n')).toEqual({
      task: "loop",
      message: "item a broke",
    });
    expect(parseAnsibleFailure("TASK [x] **\nfatal: [h]: UNREACHABLE! => not json\n")).toEqual({
      task: "x",
      message: "not json",
    });
  });

  it("finds nothing in a successful run", () => {
    expect(parseAnsibleFailure(ok)).toBeUndefined();
  });

  it("describes a failure on one line, shortened", () => {
    const text = describeAnsibleFailure({ task: "t", message: `a\nb ${"x".repeat(1000)}` }, 20);
    expect(text).toMatch(/^task "t" failed: a b x+…$/);
    expect(text.length).toBeLessThan(60);
  });
});
