import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const CHUNK = 8 * 2 ** 20;

/**
 * sha256 of a file, streamed through one reused buffer: disk images are far larger than memory
 * should hold, and a fresh buffer per chunk (createReadStream) made hashing a 4 GiB raw disk three
 * times slower here.
 */
export async function sha256File(file: string, options: HashOptions = {}): Promise<string> {
  return (await sha256State(file, options)).digest("hex");
}

export interface HashOptions {
  signal?: AbortSignal;
  onBytes?: (done: number) => void;
}

/**
 * The hash after the whole file, not yet digested: `copy()` it to hash the file plus more bytes.
 * Two buffers take turns: the next chunk is read in libuv's thread pool while this one is hashed.
 */
export async function sha256State(file: string, options: HashOptions = {}): Promise<Hash> {
  const hash = createHash("sha256");
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
  const handle = await open(file, "r");
  let position = 0;
  let reading = handle.read(buffers[0], 0, CHUNK, position);
  try {
    for (let turn = 1; ; turn++) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      options.signal?.throwIfAborted();
      position += bytesRead;
      reading = handle.read(buffers[turn % 2]!, 0, CHUNK, position);
      hash.update(buffer.subarray(0, bytesRead));
      options.onBytes?.(position);
    }
  } finally {
    // The handle is closed only once no read is in flight on it.
    await reading.catch(() => undefined);
    await handle.close();
  }
  return hash;
}

/** Copies a stream into `dest`, hashing and counting the bytes on their way: no second read to checksum. */
export async function writeHashed(
  source: Readable,
  dest: string,
  options: HashOptions = {},
): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      options.onBytes?.(size);
      callback(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(dest), options.signal ? { signal: options.signal } : {});
  return { size, sha256: hash.digest("hex") };
}
