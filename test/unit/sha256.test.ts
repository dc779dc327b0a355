import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256File, sha256State } from "../../src/builder/disk/sha256.js";

const MiB = 2 ** 20;

describe("sha256 of a file (two buffers taking turns)", () => {
  let dir: string;
  const contents = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "bib-sha256-"));
    // Empty, under one 8 MiB chunk, exactly two chunks, and two and a half chunks.
    for (const [name, bytes] of [
      ["empty", 0],
      ["small", 1000],
      ["two-chunks", 16 * MiB],
      ["odd", 20 * MiB + 123],
    ] as const) {
      const data = randomBytes(bytes);
      contents.set(name, data);
      await writeFile(path.join(dir, name), data);
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const expected = (data: Buffer) => createHash("sha256").update(data).digest("hex");

  it.each(["empty", "small", "two-chunks", "odd"])("hashes every byte of %s once, in order", async (name) => {
    const data = contents.get(name)!;
    const seen: number[] = [];
    expect(await sha256File(path.join(dir, name), { onBytes: (done) => seen.push(done) })).toBe(
      expected(data),
    );
    expect(seen.at(-1) ?? 0).toBe(data.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it("leaves a state that hashes the file followed by more bytes (the fixed VHD's footer)", async () => {
    const data = contents.get("odd")!;
    const footer = Buffer.from("conectix footer");
    const state = await sha256State(path.join(dir, "odd"));
    expect(state.copy().update(footer).digest("hex")).toBe(expected(Buffer.concat([data, footer])));
    expect(state.digest("hex")).toBe(expected(data));
  });

  it("stops when its signal is aborted", async () => {
    const controller = new AbortController();
    const reading = sha256File(path.join(dir, "odd"), {
      signal: controller.signal,
      onBytes: () => controller.abort(),
    });
    await expect(reading).rejects.toThrow(/abort/i);
  });
});
