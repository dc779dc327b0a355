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
    expect(parseAnsibleFailure(out)).toEqual({ task: "really fails", message: "non-zero return code: boom" });
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

  // The next three are ansible-core 2.14's own output (ANSIBLE_CALLBACK_RESULT_FORMAT=json), copied
  // from runs against a minbase tree without Python, a module that cannot import, and a command.
  it("carries the module's own error when fact gathering fails on an image without Python", () => {
    const out = `TASK [Gathering Facts] *********************************************************
fatal: [/var/tmp/exp/root]: FAILED! => {"ansible_facts": {}, "changed": false, "failed_modules": {"ansible.legacy.setup": {"ansible_facts": {"discovered_interpreter_python": "/usr/bin/python"}, "failed": true, "module_stderr": "/bin/sh: 1: /usr/bin/python: not found\\n", "module_stdout": "", "msg": "The module failed to execute correctly, you probably need to set the interpreter.\\nSee stdout/stderr for the exact error", "rc": 127}}, "msg": "The following modules failed to execute: ansible.legacy.setup\\n"}
`;
    const failure = parseAnsibleFailure(out)!;
    expect(failure.task).toBe("Gathering Facts");
    expect(failure.message).toBe(
      "ansible.legacy.setup: The module failed to execute correctly, you probably need to set the interpreter.\nSee stdout/stderr for the exact error: /bin/sh: 1: /usr/bin/python: not found",
    );
    expect(describeAnsibleFailure(failure)).toContain("/usr/bin/python: not found");
  });

  it("gives a MODULE FAILURE the exception its traceback ends with", () => {
    const out = `TASK [broken module] ***********************************************************
An exception occurred during task execution. To see the full traceback, use -vvv. The error was: ModuleNotFoundError: No module named 'not_installed_module'
fatal: [localhost]: FAILED! => {"changed": false, "module_stderr": "Traceback (most recent call last):\\n  File \\"/root/.ansible/tmp/ansible-tmp-1796156493.1800501-2135-96154212349097/AnsiballZ_broken.py\\", line 4, in <module>\\n    import not_installed_module\\nModuleNotFoundError: No module named 'not_installed_module'\\n", "module_stdout": "", "msg": "MODULE FAILURE\\nSee stdout/stderr for the exact error", "rc": 1}
`;
    expect(parseAnsibleFailure(out)).toEqual({
      task: "broken module",
      message:
        "MODULE FAILURE\nSee stdout/stderr for the exact error: ModuleNotFoundError: No module named 'not_installed_module'",
    });
  });

  it("adds a failed command's stderr to Ansible's message, per loop item", () => {
    const out = `TASK [loop] ********************************************************************
failed: [localhost] (item=a) => {"ansible_loop_var": "item", "changed": true, "cmd": ["sh", "-c", "echo out-a; echo err-a >&2; exit 3"], "item": "a", "msg": "non-zero return code", "rc": 3, "stderr": "err-a", "stderr_lines": ["err-a"], "stdout": "out-a", "stdout_lines": ["out-a"]}
`;
    expect(parseAnsibleFailure(out)).toEqual({ task: "loop", message: "non-zero return code: err-a" });
  });

  it("falls back to the module's stdout, then the exit status, when there is no message", () => {
    const at = (result: object) =>
      parseAnsibleFailure(`TASK [t] **\nfatal: [h]: FAILED! => ${JSON.stringify(result)}\n`);
    expect(at({ module_stdout: "half a JSON {", rc: 1 })?.message).toBe("half a JSON {");
    expect(at({ rc: 4 })?.message).toBe("exit status 4");
    expect(at({ msg: "same: boom", stderr: "boom" })?.message).toBe("same: boom");
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
