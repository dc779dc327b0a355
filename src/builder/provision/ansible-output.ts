// Turns ansible-playbook's default (human) output into one readable failure: which task failed and
// Ansible's own message, instead of a wall of output in the build's status.

export interface AnsibleFailure {
  task: string;
  message: string;
}

const TASK = /^TASK \[(.*)\] \**\s*$/;
const FAILED = /^(?:fatal|failed): \[[^\]]*\](?:: [A-Z]+!)?(?: \(item=.*?\))? => (.*)$/;

function messageFrom(result: string): string {
  try {
    const parsed = JSON.parse(result) as Record<string, unknown>;
    for (const key of ["msg", "stderr", "module_stderr", "stdout"]) {
      const value = parsed[key];
      if (typeof value === "string" && value.trim()) return value.trim();
    }
    if (typeof parsed.rc === "number") return `exit status ${parsed.rc}`;
  } catch {
    // Not JSON (a callback plugin's own format): the raw text is still the best message.
  }
  return result.trim();
}

/** The last failure Ansible did not ignore, with the name of the task it belongs to. */
export function parseAnsibleFailure(output: string): AnsibleFailure | undefined {
  let task = "";
  let failure: AnsibleFailure | undefined;
  const lines = output.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    const taskMatch = TASK.exec(line);
    if (taskMatch) {
      task = taskMatch[1]!;
      continue;
    }
    const failed = FAILED.exec(line);
    if (!failed) continue;
    const ignored = lines.slice(i + 1, i + 3).some((next) => next.trim() === "...ignoring");
    if (!ignored) failure = { task, message: messageFrom(failed[1]!) };
  }
  return failure;
}

/** One line for the error: the message shortened, so that it fits status.message. */
export function describeAnsibleFailure(failure: AnsibleFailure, maxLength = 400): string {
  const oneLine = failure.message.replace(/\s+/g, " ");
  const message = oneLine.length > maxLength ? `${oneLine.slice(0, maxLength)}…` : oneLine;
  return `task "${failure.task}" failed: ${message}`;
}
