// SigV4 for the one request the publisher sends thousands of times, PutSnapshotBlock. The SDK's
// signer took about a tenth of the publisher's main thread there (it derives and looks up the
// signing key, and clones the request, on every call); this one keeps the day's key and does one
// hash and one HMAC per request. test/unit/publish-aws-sigv4.test.ts holds it to the SDK signer's
// output byte for byte, and the AWS stand-in verifies every signature it receives.
import { createHash, createHmac } from "node:crypto";

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** SigV4's UriEncode: RFC 3986 unreserved characters stay, everything else is %XX. */
function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `20261124T012345Z` */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export class RequestSigner {
  private key?: { id: string; value: Buffer };

  constructor(
    private readonly region: string,
    private readonly service: string,
  ) {}

  /**
   * The headers to send: `headers` (lower-case names, `host` among them) plus `x-amz-date`, the
   * session token if any, and `authorization`. `path` is as sent (each segment URI-encoded once);
   * every service but S3 signs it encoded once more. No query string: this request has none.
   */
  sign(
    method: string,
    path: string,
    headers: Record<string, string>,
    payloadHash: string,
    credentials: SigningCredentials,
    date: Date = new Date(),
  ): Record<string, string> {
    const longDate = amzDate(date);
    const shortDate = longDate.slice(0, 8);
    const all: Record<string, string> = {
      ...headers,
      "x-amz-date": longDate,
      ...(credentials.sessionToken ? { "x-amz-security-token": credentials.sessionToken } : {}),
    };
    const names = Object.keys(all).sort();
    const signedHeaders = names.join(";");
    const canonical = [
      method,
      path.split("/").map(uriEscape).join("/"),
      "",
      names.map((n) => `${n}:${all[n]!.trim().replace(/\s+/g, " ")}\n`).join(""),
      signedHeaders,
      payloadHash,
    ].join("\n");
    const scope = `${shortDate}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${createHash("sha256").update(canonical).digest("hex")}`;
    const signature = createHmac("sha256", this.signingKey(credentials.secretAccessKey, shortDate))
      .update(stringToSign)
      .digest("hex");
    return {
      ...all,
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
  }

  private signingKey(secretAccessKey: string, shortDate: string): Buffer {
    const id = `${shortDate}\n${secretAccessKey}`;
    if (this.key?.id !== id) {
      let value = createHmac("sha256", `AWS4${secretAccessKey}`).update(shortDate).digest();
      for (const part of [this.region, this.service, "aws4_request"]) {
        value = createHmac("sha256", value).update(part).digest();
      }
      this.key = { id, value };
    }
    return this.key.value;
  }
}
