// The lean PutSnapshotBlock sender against the stand-in, which verifies every SigV4 signature:
// what it sends is accepted as the SDK's own request would be, and what comes back is an error
// the publisher's retry policy classifies as it classifies the SDK's.
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { EBSClient, StartSnapshotCommand } from "@aws-sdk/client-ebs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EBS_BLOCK_SIZE } from "../../src/publish/aws/blocks.js";
import { createPutBlock, ebsErrorFrom, type PutBlock } from "../../src/publish/aws/put-block.js";
import { isRetryable, isThrottling } from "../../src/publish/aws/retry.js";
import {
  startAwsStandin,
  STANDIN_ACCESS_KEY,
  STANDIN_SECRET_KEY,
  type AwsStandin,
} from "../support/aws-standin/server.js";

let standin: AwsStandin;
const agents = { httpAgent: new http.Agent({ keepAlive: true }), httpsAgent: new https.Agent() };
const clients: EBSClient[] = [];

beforeEach(async () => {
  standin = await startAwsStandin();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await standin.close();
});

function ebsClient(secretAccessKey = STANDIN_SECRET_KEY): EBSClient {
  const c = new EBSClient({
    region: "us-east-1",
    endpoint: standin.url,
    credentials: { accessKeyId: STANDIN_ACCESS_KEY, secretAccessKey },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

function putBlockWith(ebs: EBSClient, endpoint = standin.url): PutBlock {
  return createPutBlock({ ebs, region: "us-east-1", endpoint, ...agents, requestTimeoutMs: 5000 });
}

const block = (fill: number) => {
  const data = Buffer.alloc(EBS_BLOCK_SIZE, fill);
  return { data, sha256: createHash("sha256").update(data).digest() };
};

async function startSnapshot(): Promise<string> {
  const out = await ebsClient().send(new StartSnapshotCommand({ VolumeSize: 1, Timeout: 60 }));
  return out.SnapshotId!;
}

describe("lean PutSnapshotBlock", () => {
  it("writes a block the stand-in accepts: signature, checksum and payload hash verified", async () => {
    const snapshotId = await startSnapshot();
    const b = block(7);
    await putBlockWith(ebsClient())({ snapshotId, index: 3, ...b });
    const stored = standin.state.snapshots.get(snapshotId)!;
    expect(stored.digests.get(3)).toEqual(b.sha256);
    expect(stored.data.get(3)).toEqual(b.data);
  });

  it("keeps an endpoint's path prefix, as the SDK does", async () => {
    const snapshotId = await startSnapshot();
    const put = putBlockWith(ebsClient(), `${standin.url}/prefix/`);
    await expect(put({ snapshotId, index: 0, ...block(1) })).rejects.toMatchObject({
      name: "UnknownOperationException",
      $metadata: { httpStatusCode: 404 },
    });
    expect(standin.calls.at(-1)).toMatchObject({ action: "Unknown", status: 404 });
  });

  it("fails a wrong secret key as AWS does, with an error that is not retried", async () => {
    const snapshotId = await startSnapshot();
    const error = await putBlockWith(ebsClient("not-the-secret"))({
      snapshotId,
      index: 0,
      ...block(1),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "InvalidSignatureException", $metadata: { httpStatusCode: 403 } });
    expect(isRetryable(error)).toBe(false);
  });

  it("rejects a block whose checksum is not its data's, and stores nothing", async () => {
    const snapshotId = await startSnapshot();
    const { data } = block(1);
    const error = await putBlockWith(ebsClient())({
      snapshotId,
      index: 0,
      data,
      sha256: block(2).sha256,
    }).catch((e: unknown) => e);
    // The payload hash is the (wrong) checksum too, so SigV4 is what fails first.
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(standin.state.snapshots.get(snapshotId)!.digests.size).toBe(0);
  });

  it("reports throttling and 5xx so that the retry policy retries them", async () => {
    const snapshotId = await startSnapshot();
    const put = putBlockWith(ebsClient());
    standin.faults.throttle("ebs", 1, { action: "PutSnapshotBlock" });
    const throttled = await put({ snapshotId, index: 0, ...block(1) }).catch((e: unknown) => e);
    expect(throttled).toMatchObject({
      name: "RequestThrottledException",
      $metadata: { httpStatusCode: 400 },
    });
    expect(isThrottling(throttled)).toBe(true);
    standin.faults.fail("ebs", 1, { action: "PutSnapshotBlock", status: 503 });
    const unavailable = await put({ snapshotId, index: 0, ...block(1) }).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({
      name: "InternalServerException",
      $metadata: { httpStatusCode: 503 },
    });
    expect(isRetryable(unavailable)).toBe(true);
    await put({ snapshotId, index: 0, ...block(1) });
  });

  it("sends nothing once the signal has fired", async () => {
    const snapshotId = await startSnapshot();
    const controller = new AbortController();
    controller.abort(new Error("stopping"));
    await expect(
      putBlockWith(ebsClient())({ snapshotId, index: 0, ...block(1) }, controller.signal),
    ).rejects.toThrow();
    expect(standin.state.snapshots.get(snapshotId)!.digests.size).toBe(0);
  });
});

describe("ebsErrorFrom", () => {
  it("takes the code from x-amzn-errortype, then the body, then the status", () => {
    expect(
      ebsErrorFrom(400, "ValidationException:http://internal.amazon.com/coral/", '{"message":"bad"}'),
    ).toMatchObject({
      name: "ValidationException",
      message: "bad",
      $fault: "client",
    });
    expect(
      ebsErrorFrom(500, undefined, '{"__type":"com.amazon#InternalServerException","Message":"oops"}'),
    ).toMatchObject({
      name: "InternalServerException",
      message: "oops",
      $fault: "server",
    });
    const proxy = ebsErrorFrom(502, undefined, "<html>Bad Gateway</html>");
    expect(proxy).toMatchObject({ name: "Http502", message: "HTTP 502", $metadata: { httpStatusCode: 502 } });
    expect(isRetryable(proxy)).toBe(true);
  });
});
