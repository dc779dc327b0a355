// Answers to byte-identical hook requests. In steady state Metacontroller sends the same request
// again and again (every resync, every event that changed nothing bib reads), and computing the
// answer is most of a request's cost; Metacontroller's own ETag support exists for the same reason.
// An answer is reused only for the same hook and the same request bytes, only for a short time, and
// never when it depends on the clock beyond a condition's transition time (an answer that asks for
// a resync is recomputed every time).
//
// Memory is bounded by bytes, not by a count of answers: an answer carries the build's ConfigMap,
// so one ImageBuild with large inline files can make an answer of nearly 1 MiB, and a few hundred of
// those used to exhaust the Deployment's 192 MiB heap. Such answers are not kept at all (computing
// one again is cheap next to holding it), and expired answers are dropped as soon as they expire.
import { createHash } from "node:crypto";
import { ByteLru } from "../plan/byte-lru.js";

export interface AnswerCacheOptions {
  /** Most answers kept, whatever their size. */
  entries: number;
  /** Most bytes kept over all answers; the least recently used answers go first. */
  maxBytes: number;
  /** How long an answer may be reused; it is dropped afterwards. */
  ttlMs: number;
  /** Answers larger than this are not kept. */
  maxAnswerBytes: number;
}

export const DEFAULT_ANSWER_CACHE: AnswerCacheOptions = {
  entries: 512,
  maxBytes: 16 << 20,
  ttlMs: 60_000,
  maxAnswerBytes: 256 << 10,
};

export interface AnswerCache {
  key(hook: string, requestBody: Buffer): string;
  get(key: string): string | undefined;
  set(key: string, answer: string): void;
  /** What the cache holds now, after dropping expired answers. */
  size(): { entries: number; bytes: number };
}

/** What an entry costs beside its answer's bytes: the key (64 hex digits) and bookkeeping. */
const ENTRY_OVERHEAD_BYTES = 200;

export function createAnswerCache(
  options: AnswerCacheOptions = DEFAULT_ANSWER_CACHE,
  clock: () => number = Date.now,
): AnswerCache {
  // When each answer expires, soonest first: every answer lives ttlMs from when it was set, so this
  // is set order.
  const byExpiry = new Map<string, number>();
  const byUse = new ByteLru<string, string>({
    maxEntries: options.entries,
    maxBytes: options.maxBytes,
    onEvict: (key) => byExpiry.delete(key),
  });

  const drop = (key: string) => {
    byUse.delete(key);
    byExpiry.delete(key);
  };
  const dropExpired = () => {
    const now = clock();
    for (const [key, expires] of byExpiry) {
      if (expires > now) break;
      drop(key);
    }
  };

  return {
    key: (hook, requestBody) =>
      createHash("sha256").update(hook).update("\0").update(requestBody).digest("hex"),
    get(key) {
      dropExpired();
      return byUse.get(key);
    },
    set(key, answer) {
      dropExpired();
      drop(key);
      // UTF-8 takes at least a byte per UTF-16 unit: the length alone rules out most large answers.
      if (answer.length > options.maxAnswerBytes) return;
      const answerBytes = Buffer.byteLength(answer);
      if (answerBytes > options.maxAnswerBytes) return;
      if (byUse.set(key, answer, answerBytes + ENTRY_OVERHEAD_BYTES)) {
        byExpiry.set(key, clock() + options.ttlMs);
      }
    },
    size() {
      dropExpired();
      return { entries: byUse.size, bytes: byUse.bytes };
    },
  };
}

/** Whether an answer may be reused for the same request: not when it asks to be asked again. */
export function reusable(response: Record<string, unknown>): boolean {
  return response.resyncAfterSeconds === undefined;
}
