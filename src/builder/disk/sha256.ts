import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** sha256 of a file, streamed: disk images are far larger than memory should hold. */
export async function sha256File(
  file: string,
  options: { signal?: AbortSignal; onBytes?: (done: number) => void } = {},
): Promise<string> {
  const hash = createHash("sha256");
  let done = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 2 ** 20, signal: options.signal })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    options.onBytes?.(done);
  }
  return hash.digest("hex");
}
