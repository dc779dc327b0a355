import { describe, expect, it } from "vitest";
import { tarHeader } from "../../src/publish/oci-layout.js";
import { ociLocation, parseOciLocation, registryArgs } from "../../src/publish/oci.js";
import { parseS3Location, s3Key } from "../../src/publish/s3.js";
import { mergeResults } from "../../src/publish/index.js";

describe("locations", () => {
  it("round-trips oci:// and s3:// locations", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const loc = ociLocation("registry.local:5000/images/debian", "12", digest);
    expect(loc).toBe(`oci://registry.local:5000/images/debian:12@${digest}`);
    expect(parseOciLocation(loc)).toEqual({
      repository: "registry.local:5000/images/debian",
      tag: "12",
      digest,
    });
    expect(parseS3Location("s3://bucket/p/x.qcow2")).toEqual({ bucket: "bucket", key: "p/x.qcow2" });
    expect(parseS3Location("pvc://claim/x")).toBeUndefined();
    expect(s3Key("builds/", "/work/artifacts/x.raw")).toBe("builds/x.raw");
  });

  it("passes registry credentials as an auth file and insecure as TLS off", () => {
    const oci = {
      repository: "r/x",
      tag: "1",
      insecure: true,
      credentials: { dockerConfigJson: "oci.dockerconfigjson" },
    };
    expect(registryArgs(oci, "/bib/secrets", "dest")).toEqual([
      "--authfile",
      "/bib/secrets/oci.dockerconfigjson",
      "--dest-tls-verify=false",
    ]);
    expect(registryArgs({ ...oci, insecure: false, credentials: undefined }, "/s", "")).toEqual([]);
  });

  it("merges results in publisher order", () => {
    const a = {
      artifacts: [{ format: "raw" as const, size: 1, sha256: "x", location: "s3://b/k" }],
      images: [],
    };
    const b = { artifacts: [], images: [{ provider: "aws", region: "us-east-1" }] };
    expect(mergeResults([a, b])).toEqual({ artifacts: a.artifacts, images: b.images });
  });
});

describe("tarHeader", () => {
  const checksumOk = (h: Buffer) => {
    const stored = parseInt(h.subarray(148, 154).toString("ascii"), 8);
    const copy = Buffer.from(h);
    copy.fill(" ", 148, 156);
    return stored === copy.reduce((s, b) => s + b, 0);
  };

  it("writes ustar headers with owner 107 and a valid checksum", () => {
    const h = tarHeader({
      name: "disk/x.qcow2",
      size: 1234,
      mode: 0o444,
      type: "file",
      mtime: 0,
      uid: 107,
      gid: 107,
    });
    expect(h.subarray(0, 12).toString()).toBe("disk/x.qcow2");
    expect(parseInt(h.subarray(108, 115).toString(), 8)).toBe(107);
    expect(parseInt(h.subarray(124, 135).toString(), 8)).toBe(1234);
    expect(h.subarray(257, 262).toString()).toBe("ustar");
    expect(checksumOk(h)).toBe(true);
  });

  it("encodes sizes from 8 GiB up in base-256", () => {
    const size = 10 * 2 ** 30;
    const h = tarHeader({
      name: "disk/big.qcow2",
      size,
      mode: 0o444,
      type: "file",
      mtime: 0,
      uid: 107,
      gid: 107,
    });
    expect(h[124]).toBe(0x80);
    let decoded = 0n;
    for (let i = 125; i < 136; i++) decoded = (decoded << 8n) | BigInt(h[i]!);
    expect(Number(decoded)).toBe(size);
    expect(checksumOk(h)).toBe(true);
  });
});
