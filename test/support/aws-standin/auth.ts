// SigV4 as AWS checks it: the Authorization header is parsed, then the signature is computed again
// from the request as received (method, path, query, signed headers, payload hash) with the
// caller's secret key and compared. Written from the published algorithm, not with the SDK's
// signer, so that a request the client changed after signing, or signed for the wrong region,
// service or key, is rejected here as AWS would reject it.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export interface Caller {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string | undefined): Caller | undefined {
  const m = header ? SIGV4.exec(header) : null;
  if (!m) return undefined;
  return {
    accessKeyId: m[1]!,
    date: m[2]!,
    region: m[3]!,
    service: m[4]!,
    signedHeaders: m[5]!.split(";"),
    signature: m[6]!,
  };
}

/** The request as it arrived: the raw path and query, lower-cased header names, the body's hash. */
export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  target: string;
  headers: Record<string, string | string[] | undefined>;
  bodySha256: Buffer;
}

/** RFC 3986 unreserved characters stay, everything else is %XX (SigV4's UriEncode). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
  if (!query) return "";
  return query
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf("=");
      const [k, v] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
      const decode = (x: string) => decodeURIComponent(x.replace(/\+/g, " "));
      return [uriEncode(decode(k)), uriEncode(decode(v))] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

function headerValue(v: string | string[] | undefined): string {
  const joined = Array.isArray(v) ? v.join(",") : (v ?? "");
  return joined.trim().replace(/\s+/g, " ");
}

export function canonicalRequest(req: ReceivedRequest, signedHeaders: string[], service: string): string {
  const q = req.target.indexOf("?");
  const path = q < 0 ? req.target : req.target.slice(0, q);
  const query = q < 0 ? "" : req.target.slice(q + 1);
  // Every service but S3 signs the path URI-encoded once more than it is sent.
  const canonicalPath = service === "s3" ? path : path.split("/").map(uriEncode).join("/");
  const payloadHash = headerValue(req.headers["x-amz-content-sha256"]) || req.bodySha256.toString("hex");
  return [
    req.method,
    canonicalPath || "/",
    canonicalQuery(query),
    signedHeaders.map((h) => `${h}:${headerValue(req.headers[h])}\n`).join(""),
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
}

// Derived keys change once a day per key, region and service, as in AWS: four HMACs saved per call.
const signingKeys = new Map<string, Buffer>();

function signingKey(secretAccessKey: string, scope: Pick<Caller, "date" | "region" | "service">): Buffer {
  const id = `${secretAccessKey}\n${scope.date}\n${scope.region}\n${scope.service}`;
  let key = signingKeys.get(id);
  if (!key) {
    key = createHmac("sha256", `AWS4${secretAccessKey}`).update(scope.date).digest();
    for (const part of [scope.region, scope.service, "aws4_request"]) {
      key = createHmac("sha256", key).update(part).digest();
    }
    signingKeys.set(id, key);
  }
  return key;
}

export function signature(
  secretAccessKey: string,
  caller: Pick<Caller, "date" | "region" | "service">,
  amzDate: string,
  canonical: string,
): string {
  const scope = `${caller.date}/${caller.region}/${caller.service}/aws4_request`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  return createHmac("sha256", signingKey(secretAccessKey, caller)).update(stringToSign).digest("hex");
}

export type SignatureProblem = "expired" | "mismatch";

/** AWS allows 15 minutes between the signing time and its own clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

/** Why AWS would reject this signature, or undefined when it holds. */
export function checkSignature(
  req: ReceivedRequest,
  caller: Caller,
  secretAccessKey: string,
  now: number = Date.now(),
): SignatureProblem | undefined {
  const amzDate = headerValue(req.headers["x-amz-date"]);
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined || !amzDate.startsWith(caller.date)) return "mismatch";
  if (!caller.signedHeaders.includes("host")) return "mismatch";
  if (!caller.signedHeaders.includes("x-amz-date")) return "mismatch";
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) return "expired";
  // A declared payload hash is signed, and must also be the body's.
  const declared = headerValue(req.headers["x-amz-content-sha256"]);
  if (declared && declared !== "UNSIGNED-PAYLOAD" && declared !== req.bodySha256.toString("hex")) {
    return "mismatch";
  }
  const expected = signature(
    secretAccessKey,
    caller,
    amzDate,
    canonicalRequest(req, caller.signedHeaders, caller.service),
  );
  return timingSafeEqual(Buffer.from(expected), Buffer.from(caller.signature)) ? undefined : "mismatch";
}
