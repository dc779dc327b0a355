// `bib cache ls|prune`: the cached trees (debootstrap bases and provisioned step prefixes) under
// the cache directory, most recently used first, and trimming them to a size (or to nothing).
import type { Command } from "commander";
import { quantityToBytes } from "../../api/quantity.js";
import { defaultCacheDir } from "../../builder/local-run.js";
import { TreeStore, treesDir, type CacheEntry } from "../../builder/cache/store.js";
import { table } from "../table.js";

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export function entriesTable(entries: readonly CacheEntry[]): string {
  const rows = entries.map((e) => [
    e.name,
    e.step,
    e.buildName,
    mib(e.bytes),
    when(e.createdMs),
    when(e.usedMs),
  ]);
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  return [
    ...table([["ENTRY", "AFTER STEP", "BUILD", "SIZE", "CREATED", "LAST USED"], ...rows]),
    `${entries.length} entries, ${mib(total)}`,
  ].join("\n");
}

/** `--max-size` as bytes; a clear error naming the flag otherwise. */
export function maxSizeBytes(value: string): number {
  const bytes = quantityToBytes(value);
  if (bytes === undefined) throw new Error(`--max-size: "${value}" is not a size such as 10Gi or 500M`);
  return bytes;
}

export function registerCache(program: Command): void {
  const cache = program.command("cache").description("show and trim the cached trees of earlier builds");
  const dirOption = [
    "--cache <dir>",
    "cache directory (default /var/cache/bib as root, else ~/.cache/bib)",
  ] as const;
  cache
    .command("ls")
    .description("list cached trees, most recently used first")
    .option(...dirOption)
    .action(async (flags: { cache?: string }) => {
      console.log(entriesTable(await new TreeStore(treesDir(flags.cache ?? defaultCacheDir())).list()));
    });
  cache
    .command("prune")
    .description("remove least recently used trees until the rest fit in --max-size (default: remove all)")
    .option(...dirOption)
    .option("--max-size <size>", "size to keep, e.g. 10Gi", "0")
    .action(async (flags: { cache?: string; maxSize: string }) => {
      let bytes: number;
      try {
        bytes = maxSizeBytes(flags.maxSize);
      } catch (error) {
        console.error(`bib cache prune: ${(error as Error).message}`);
        process.exitCode = 2;
        return;
      }
      const store = new TreeStore(treesDir(flags.cache ?? defaultCacheDir()));
      const removed = await store.prune(bytes);
      console.log(`removed ${removed.length} entries (${mib(removed.reduce((s, e) => s + e.bytes, 0))})`);
      console.log(entriesTable(await store.list()));
    });
}
