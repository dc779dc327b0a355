// Signature presence check: AWS rejects a request without a SigV4 Authorization header, and one
// signed with an unknown access key. The signature itself is not verified (a stand-in).
export interface Caller {
  accessKeyId: string;
  region: string;
  service: string;
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string | undefined): Caller | undefined {
  const m = header ? SIGV4.exec(header) : null;
  if (!m) return undefined;
  return { accessKeyId: m[1]!, region: m[3]!, service: m[4]! };
}
