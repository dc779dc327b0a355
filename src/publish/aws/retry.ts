// Retries for AWS calls: exponential backoff with full jitter on throttling and transient server or
// network errors. The SDK's own retries are turned off for these clients so this is the one policy,
// with more patience than the SDK's default of 3 attempts (an upload sends thousands of requests).

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
  "RequestThrottled",
  "ProvisionedThroughputExceededException",
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
]);
const TRANSIENT = new Set([
  "InternalServerException",
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "Unavailable",
  "RequestTimeout",
  "RequestTimeoutException",
]);
const NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

interface MaybeAwsError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

export function errorName(error: unknown): string {
  const e = (error ?? {}) as MaybeAwsError;
  return e.name ?? e.Code ?? e.code ?? "Error";
}

function statusOf(error: unknown): number | undefined {
  const e = (error ?? {}) as MaybeAwsError;
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

export function isThrottling(error: unknown): boolean {
  return THROTTLING.has(errorName(error)) || statusOf(error) === 429;
}

/** Whether trying the same request again may succeed. */
export function isRetryable(error: unknown): boolean {
  if (isThrottling(error) || TRANSIENT.has(errorName(error))) return true;
  const code = (error as { code?: string } | undefined)?.code;
  if (code && NETWORK.has(code)) return true;
  if (errorName(error) === "TimeoutError") return true;
  const status = statusOf(error);
  return status !== undefined && status >= 500 && status !== 501;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 12, baseMs: 100, capMs: 20_000 };

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base*2^n)). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: {
    policy?: RetryPolicy;
    signal?: AbortSignal;
    onRetry?: (error: unknown, attempt: number) => void;
  } = {},
): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (opts.signal?.aborted || attempt + 1 >= policy.maxAttempts || !isRetryable(error)) throw error;
      opts.onRetry?.(error, attempt);
      await sleep(backoffMs(attempt, policy), opts.signal);
    }
  }
}

/**
 * Waits between state polls: short at first (a small snapshot completes in seconds), doubling up
 * to `maxMs` so that a long wait does not spend the account's EC2 request budget.
 */
export function pollDelay(poll: number, maxMs: number): number {
  return Math.min(maxMs, 250 * 2 ** poll);
}

export { sleep };
