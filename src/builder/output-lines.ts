// Program output arrives in chunks; the build log wants whole lines, tagged with the step.
import type { Logger } from "pino";

export function lineLogger(
  log: Logger,
  fields: Record<string, unknown>,
): { onOutput(chunk: string): void; flush(): void } {
  let pending = "";
  return {
    onOutput(chunk: string) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) log.info({ ...fields, out: line }, line);
    },
    flush() {
      if (pending.trim()) log.info({ ...fields, out: pending }, pending);
      pending = "";
    },
  };
}

/** Keeps the last `max` characters of a program's output, for parsing after it ends. */
export function outputBuffer(max = 1024 * 1024): { add(chunk: string): void; text(): string } {
  let text = "";
  return {
    add(chunk: string) {
      text = (text + chunk).slice(-max);
    },
    text: () => text,
  };
}
