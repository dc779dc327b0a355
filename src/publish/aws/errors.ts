// Turns SDK errors into messages that name the target and region, and say what to do; `awsCall`
// is how every AWS call of the publisher and cleanup is made: retried, then described.
import { errorName, withRetry, type RetryPolicy } from "./retry.js";

const CREDENTIALS_REJECTED = new Set([
  "AuthFailure",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidSignatureException",
  "ExpiredToken",
  "ExpiredTokenException",
  "MissingAuthenticationToken",
]);
const NOT_ALLOWED = new Set(["UnauthorizedOperation", "AccessDeniedException", "AccessDenied"]);

export function awsTarget(region: string): string {
  return `publish.aws (${region})`;
}

export function describeAwsError(target: string, action: string, error: unknown): Error {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (CREDENTIALS_REJECTED.has(name)) {
    return new Error(`${target}: credentials rejected: ${message}`, { cause: error });
  }
  if (name === "CredentialsProviderError") {
    return new Error(
      `${target}: no AWS credentials: set credentialsSecretRef or give the builder an IAM role (IRSA): ${message}`,
      { cause: error },
    );
  }
  if (NOT_ALLOWED.has(name)) {
    return new Error(
      `${target}: ${action} not allowed for these credentials (see the IAM policy in the README): ${message}`,
      {
        cause: error,
      },
    );
  }
  return new Error(`${target}: ${action} failed: ${name}: ${message}`, { cause: error });
}

/** What every AWS call needs besides its request: whom errors name, the retry policy, the signal. */
export interface AwsCall {
  target: string;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Told of each failure that is retried, e.g. to log it. */
  onRetry?: (action: string, error: unknown, attempt: number) => void;
}

/** Runs `fn` under the retry policy; a final failure is described, an abort passes through as is. */
export function awsCall<T>(c: AwsCall, action: string, fn: (signal?: AbortSignal) => Promise<T>): Promise<T> {
  const onRetry = c.onRetry && ((error: unknown, attempt: number) => c.onRetry!(action, error, attempt));
  return withRetry(() => fn(c.signal), { policy: c.retry, signal: c.signal, onRetry }).catch(
    (error: unknown) => {
      if (c.signal?.aborted) throw error;
      throw describeAwsError(c.target, action, error);
    },
  );
}
