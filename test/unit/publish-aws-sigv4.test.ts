// The publisher's own SigV4 signer against the AWS SDK's: the same request, credentials and time
// must give the same headers, byte for byte.
import { createHash } from "node:crypto";
import { EBSClient } from "@aws-sdk/client-ebs";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { amzDate, RequestSigner, type SigningCredentials } from "../../src/publish/aws/sigv4.js";

const ebs = new EBSClient({ region: "eu-west-1" });
const sdkSigner = (credentials: SigningCredentials) =>
  new SignatureV4({ service: "ebs", region: "eu-west-1", credentials, sha256: ebs.config.sha256 });

const hash = createHash("sha256").update("block").digest();
const headers = {
  host: "ebs.eu-west-1.amazonaws.com",
  "content-type": "application/octet-stream",
  "content-length": "524288",
  "x-amz-data-length": "524288",
  "x-amz-checksum": hash.toString("base64"),
  "x-amz-checksum-algorithm": "SHA256",
  "x-amz-content-sha256": hash.toString("hex"),
};

async function both(credentials: SigningCredentials, path: string, date: Date) {
  const sdk = await sdkSigner(credentials).sign(
    {
      method: "PUT",
      protocol: "https:",
      hostname: headers.host,
      path,
      query: {},
      headers,
      body: Buffer.alloc(0),
    },
    { signingDate: date },
  );
  const ours = new RequestSigner("eu-west-1", "ebs").sign(
    "PUT",
    path,
    headers,
    hash.toString("hex"),
    credentials,
    date,
  );
  const lower = (h: Record<string, string>) =>
    Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { sdk: lower(sdk.headers), ours };
}

describe("RequestSigner", () => {
  const date = new Date(Date.UTC(2026, 10, 24, 1, 2, 3));

  it("formats the SigV4 date", () => {
    expect(amzDate(date)).toBe("20261124T010203Z");
  });

  it("signs PutSnapshotBlock exactly as the SDK's signer does", async () => {
    const { sdk, ours } = await both(
      { accessKeyId: "AKIAEXAMPLE000000001", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
      "/snapshots/snap-0123456789abcdef0/blocks/42",
      date,
    );
    expect(ours).toEqual(sdk);
  });

  it("adds and signs the session token of temporary credentials (IRSA), as the SDK does", async () => {
    const { sdk, ours } = await both(
      {
        accessKeyId: "ASIAEXAMPLE000000001",
        secretAccessKey: "secret",
        sessionToken: "FwoGZXIvYXdzEXAMPLE//token=",
      },
      "/snapshots/snap-0123456789abcdef0/blocks/0",
      date,
    );
    expect(ours["x-amz-security-token"]).toBe("FwoGZXIvYXdzEXAMPLE//token=");
    expect(ours).toEqual(sdk);
  });

  it("encodes an already-encoded path once more, as the SDK does for services other than S3", async () => {
    const { sdk, ours } = await both(
      { accessKeyId: "AKIAEXAMPLE000000001", secretAccessKey: "secret" },
      `/snapshots/${encodeURIComponent("snap a:b")}/blocks/7`,
      date,
    );
    expect(ours).toEqual(sdk);
  });

  it("derives a new key on a new day and for a new secret", () => {
    const authorization = (signer: RequestSigner, secretAccessKey: string, d: Date) =>
      signer.sign(
        "PUT",
        "/x",
        { host: "h" },
        "e3b0",
        { accessKeyId: "AKIAEXAMPLE000000001", secretAccessKey },
        d,
      ).authorization;
    const reused = new RequestSigner("eu-west-1", "ebs");
    const nextDay = new Date(date.getTime() + 86_400_000);
    for (const [secret, d] of [
      ["one", date],
      ["one", nextDay],
      ["two", nextDay],
    ] as const) {
      expect(authorization(reused, secret, d)).toBe(
        authorization(new RequestSigner("eu-west-1", "ebs"), secret, d),
      );
    }
  });
});
