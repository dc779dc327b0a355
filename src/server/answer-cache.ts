// Answers to byte-identical hook requests. In steady state Metacontroller sends the same request
// again and again (every resync, every event that changed nothing bib reads), and computing the
// answer is most of a request's cost; Metacontroller's own ETag support exists for the same reason.
// An answer is reused only for the same hook and the same request bytes, only for a short time, and
// never when it depends on the clock beyond a condition's transition time (an answer that asks for
// a resync is recomputed every time).
import { createHash } from "node:crypto";

export interface AnswerCacheOptions {
  /** Most answers kept; the least recently used goes first. */
  entries: number;
  /** How long an answer may be reused. */
  ttlMs: number;
  /** Answers larger than this are not kept. */
  maxAnswerBytes: number;
}

export const DEFAULT_ANSWER_CACHE: AnswerCacheOptions = {
  entries: 512,
  ttlMs: 60_000,
  maxAnswerBytes: 1 << 20,
};

export interface AnswerCache {
  key(hook: string, requestBody: Buffer): string;
  get(key: string): string | undefined;
  set(key: string, answer: string): void;
}

export function createAnswerCache(
  options: AnswerCacheOptions = DEFAULT_ANSWER_CACHE,
  clock: () => number = Date.now,
): AnswerCache {
  const answers = new Map<string, { answer: string; expires: number }>();
  return {
    key: (hook, requestBody) =>
      createHash("sha256").update(hook).update("\0").update(requestBody).digest("hex"),
    get(key) {
      const hit = answers.get(key);
      if (!hit) return undefined;
      answers.delete(key);
      if (hit.expires <= clock()) return undefined;
      answers.set(key, hit);
      return hit.answer;
    },
    set(key, answer) {
      if (answer.length > options.maxAnswerBytes) return;
      answers.delete(key);
      answers.set(key, { answer, expires: clock() + options.ttlMs });
      if (answers.size > options.entries) answers.delete(answers.keys().next().value!);
    },
  };
}

/** Whether an answer may be reused for the same request: not when it asks to be asked again. */
export function reusable(response: Record<string, unknown>): boolean {
  return response.resyncAfterSeconds === undefined;
}
