// Turns SDK errors into messages that name the target and region, and say what to do.
import { errorName } from "./retry.js";

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
