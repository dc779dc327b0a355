// Turns ansible-playbook's default (human) output into one readable failure: which task failed and
// Ansible's own message, instead of a wall of output in the build's status.

export interface AnsibleFailure {
  task: string;
  message: string;
}

const TASK = /^TASK \[(.*)\] \**\s*$/;
const FAILED = /^(?:fatal|failed): \[[^\]]*\](?:: [A-Z]+!)?(?: \(item=.*?\))? => (.*)$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(result: Record<string, unknown>, key: string): string {
  const value = result[key];
  return typeof value === "string" ? value.trim() : "";
}

/** A Python traceback says what went wrong on its last line; other output is kept whole. */
function lastLineOfTraceback(output: string): string {
  if (!output.includes("Traceback (most recent call last)")) return output;
  return output
    .split("\n")
    .filter((l) => l.trim())
    .at(-1)!
    .trim();
}

/**
 * Ansible's message for one failed result, with the module's own error after it: a module that
 * could not start ("MODULE FAILURE", "you probably need to set the interpreter") says why only in
 * `module_stderr`, a command only in `stderr`. Fact gathering nests one result per module.
 */
function resultMessage(result: Record<string, unknown>): string {
  const failedModules = result.failed_modules;
  if (isRecord(failedModules)) {
    const nested = Object.entries(failedModules)
      .filter((entry): entry is [string, Record<string, unknown>] => isRecord(entry[1]))
      .map(([module, r]) => `${module}: ${resultMessage(r)}`);
    if (nested.length) return nested.join("; ");
  }
  const msg = text(result, "msg");
  const own = lastLineOfTraceback(text(result, "module_stderr") || text(result, "stderr"));
  const parts = [msg, own && !msg.includes(own) ? own : ""].filter(Boolean);
  if (parts.length) return parts.join(": ");
  const stdout = text(result, "module_stdout") || text(result, "stdout");
  if (stdout) return stdout;
  return typeof result.rc === "number" ? `exit status ${result.rc}` : "";
}

function messageFrom(result: string): string {
  try {
    const parsed: unknown = JSON.parse(result);
    if (isRecord(parsed)) return resultMessage(parsed) || result.trim();
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
