// PutSnapshotBlock as one signed HTTP request. An upload sends thousands of them, and going
// through the SDK's middleware stack took a quarter of the publisher's CPU (profile in the README);
// here each block is a SigV4 signature (./sigv4.ts, with the SDK's credentials and endpoint
// resolution) and a PUT over a keep-alive agent. Every other EBS call still goes through the SDK.
import http from "node:http";
import https from "node:https";
import type { EBSClient } from "@aws-sdk/client-ebs";
import { RequestSigner } from "./sigv4.js";

export interface BlockPut {
  snapshotId: string;
  index: number;
  data: Buffer;
  /** SHA-256 of `data`: sent as the block's checksum and reused as SigV4's payload hash. */
  sha256: Buffer;
}

export type PutBlock = (block: BlockPut, signal?: AbortSignal) => Promise<void>;

/** An error shaped like the SDK's service exceptions, so one retry policy classifies both. */
export class EbsServiceError extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $fault: "client" | "server";

  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
    this.$fault = status >= 500 ? "server" : "client";
  }
}

/** restJson1 errors: the code in `x-amzn-errortype` (before any ':'), else in the body. */
export function ebsErrorFrom(status: number, errorType: string | undefined, body: string): EbsServiceError {
  let parsed: { __type?: unknown; code?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    // Not JSON (a proxy's error page): the status still classifies it.
  }
  const fromBody = typeof parsed.__type === "string" ? parsed.__type : parsed.code;
  const raw = errorType ?? (typeof fromBody === "string" ? fromBody : undefined);
  const name = raw?.split(":")[0]?.split("#").at(-1) || `Http${status}`;
  const message = parsed.message ?? parsed.Message;
  return new EbsServiceError(name, typeof message === "string" ? message : `HTTP ${status}`, status);
}

function timeoutError(ms: number): Error {
  const e = new Error(`no response within ${ms} ms`);
  e.name = "TimeoutError";
  return e;
}

export interface PutBlockOptions {
  ebs: EBSClient;
  region: string;
  /** AWS_ENDPOINT_URL_EBS / AWS_ENDPOINT_URL, as given to the SDK client. */
  endpoint?: string;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  requestTimeoutMs: number;
}

export function createPutBlock(o: PutBlockOptions): PutBlock {
  const signer = new RequestSigner(o.region, "ebs");
  let base: Promise<URL> | undefined;
  const baseUrl = () =>
    (base ??= (async () =>
      o.ebs.config.endpointProvider({
        Region: o.region,
        UseFIPS: await o.ebs.config.useFipsEndpoint(),
        UseDualStack: await o.ebs.config.useDualstackEndpoint(),
        ...(o.endpoint ? { Endpoint: o.endpoint } : {}),
      }).url)());

  return async (block, signal) => {
    const url = await baseUrl();
    const prefix = url.pathname.replace(/\/$/, "");
    const path = `${prefix}/snapshots/${encodeURIComponent(block.snapshotId)}/blocks/${block.index}`;
    const payloadHash = block.sha256.toString("hex");
    const headers = signer.sign(
      "PUT",
      path,
      {
        host: url.host,
        "content-type": "application/octet-stream",
        "content-length": String(block.data.length),
        "x-amz-data-length": String(block.data.length),
        "x-amz-checksum": block.sha256.toString("base64"),
        "x-amz-checksum-algorithm": "SHA256",
        "x-amz-content-sha256": payloadHash,
      },
      payloadHash,
      // The SDK's provider: memoized, and refreshed before temporary credentials (IRSA) expire.
      await o.ebs.config.credentials(),
    );
    await send(o, url, path, headers, block.data, signal);
  };
}

function send(
  o: PutBlockOptions,
  url: URL,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  signal: AbortSignal | undefined,
): Promise<void> {
  const https_ = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (https_ ? https : http).request(
      {
        method: "PUT",
        hostname: url.hostname,
        port: url.port || (https_ ? 443 : 80),
        path,
        headers,
        agent: https_ ? o.httpsAgent : o.httpAgent,
        ...(signal ? { signal } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status === 201) {
          res.resume();
          res.on("end", resolve);
          res.on("error", reject);
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const errorType = res.headers["x-amzn-errortype"];
          reject(
            ebsErrorFrom(
              status,
              Array.isArray(errorType) ? errorType[0] : errorType,
              Buffer.concat(chunks).toString("utf8"),
            ),
          );
        });
      },
    );
    req.setTimeout(o.requestTimeoutMs, () => req.destroy(timeoutError(o.requestTimeoutMs)));
    req.on("error", reject);
    req.end(body);
  });
}
