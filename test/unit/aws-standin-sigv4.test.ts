// The stand-in's SigV4 check: it must compute AWS's own signature for a documented example, accept
// what the SDK's signer produces, and reject any change made to a request after it was signed.
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { SourceData } from "@smithy/types";
import { describe, expect, it } from "vitest";
import {
  canonicalRequest,
  checkSignature,
  parseAuthorization,
  signature,
  type ReceivedRequest,
} from "../support/aws-standin/auth.js";

const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === "string"
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest();

/** The checksum constructor the SDK's signer takes: a hash, or an HMAC when given a key. */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(key?: SourceData) {
    this.h = key ? createHmac("sha256", bytes(key)) : createHash("sha256");
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

describe("SigV4 verification in the stand-in", () => {
  it("computes the signature of the GET Object example in the S3 SigV4 documentation", () => {
    const req: ReceivedRequest = {
      method: "GET",
      target: "/test.txt",
      headers: {
        host: "examplebucket.s3.amazonaws.com",
        range: "bytes=0-9",
        "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date": "20130524T000000Z",
      },
      bodySha256: sha256(Buffer.alloc(0)),
    };
    const canonical = canonicalRequest(req, ["host", "range", "x-amz-content-sha256", "x-amz-date"], "s3");
    expect(canonical).toBe(
      [
        "GET",
        "/test.txt",
        "",
        "host:examplebucket.s3.amazonaws.com",
        "range:bytes=0-9",
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date:20130524T000000Z",
        "",
        "host;range;x-amz-content-sha256;x-amz-date",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      ].join("\n"),
    );
    const scope = { date: "20130524", region: "us-east-1", service: "s3" };
    expect(signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", scope, "20130524T000000Z", canonical)).toBe(
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  const SECRET = "secret-for-the-test";
  const signer = (region = "us-east-1", secretAccessKey = SECRET) =>
    new SignatureV4({
      service: "ebs",
      region,
      credentials: { accessKeyId: "AKIATESTKEY000000001", secretAccessKey },
      sha256: Sha256,
    });
  const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);

  async function signed(region?: string, secret?: string): Promise<ReceivedRequest> {
    const body = Buffer.from("block data");
    // A path with characters SigV4 encodes a second time for every service but S3.
    const path = `/snapshots/${encodeURIComponent("snap-a:b c")}/blocks/7`;
    const out = await signer(region, secret).sign(
      {
        method: "PUT",
        protocol: "http:",
        hostname: "127.0.0.1",
        port: 8080,
        path,
        query: { pageToken: "a/b=c", maxResults: "10" },
        headers: { host: "127.0.0.1:8080", "x-amz-checksum": "abc", "content-length": String(body.length) },
        body,
      },
      { signingDate: new Date(NOW) },
    );
    const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const query = new URLSearchParams(out.query as Record<string, string>).toString();
    return { method: "PUT", target: `${out.path}?${query}`, headers, bodySha256: sha256(body) };
  }

  const check = (req: ReceivedRequest, now = NOW, secret = SECRET) =>
    checkSignature(req, parseAuthorization(req.headers.authorization as string)!, secret, now);

  it("accepts a request signed by the SDK's signer, query and double-encoded path included", async () => {
    expect(check(await signed())).toBeUndefined();
  });

  it("rejects a changed signed header, path, query or body, a wrong secret and a wrong region", async () => {
    const ok = await signed();
    expect(check({ ...ok, headers: { ...ok.headers, "x-amz-checksum": "abd" } })).toBe("mismatch");
    expect(check({ ...ok, target: ok.target.replace("/blocks/7", "/blocks/8") })).toBe("mismatch");
    expect(check({ ...ok, target: ok.target.replace("maxResults=10", "maxResults=11") })).toBe("mismatch");
    expect(check({ ...ok, bodySha256: sha256(Buffer.from("other data")) })).toBe("mismatch");
    expect(check(await signed("us-east-1", "another-secret"))).toBe("mismatch");
    const otherRegion = await signed("eu-west-1");
    const claimed = String(otherRegion.headers.authorization).replace("/eu-west-1/", "/us-east-1/");
    expect(check({ ...otherRegion, headers: { ...otherRegion.headers, authorization: claimed } })).toBe(
      "mismatch",
    );
  });

  it("rejects a signature more than 15 minutes away from the server's clock", async () => {
    const ok = await signed();
    expect(check(ok, NOW + 14 * 60_000)).toBeUndefined();
    expect(check(ok, NOW + 16 * 60_000)).toBe("expired");
    expect(check(ok, NOW - 16 * 60_000)).toBe("expired");
  });
});
