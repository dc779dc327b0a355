import { run } from "../../util/exec.js";
import type { Progress } from "../../util/progress.js";
import type { ConvertedFormat } from "../../plan/formats.js";
import { convertOptions } from "./formats.js";
import { lastPercent } from "./progress.js";

export interface ConvertOptions {
  progress: Progress;
  task: string;
  /** Virtual size, to report progress in bytes. */
  bytes: number;
  signal?: AbortSignal;
}

export async function convertRaw(raw: string, output: string, format: ConvertedFormat, o: ConvertOptions) {
  await run("qemu-img", ["convert", "-p", "-f", "raw", ...convertOptions(format), raw, output], {
    signal: o.signal,
    captureStdout: false,
    onOutput: (chunk) => {
      const percent = lastPercent(chunk);
      if (percent !== undefined)
        o.progress.update(o.task, Math.round((o.bytes * percent) / 100), o.bytes, "bytes");
    },
  });
}
