// EC2 and EBS clients for one region. Endpoints can be overridden the standard SDK way
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_EBS); they are read here from the
// environment passed in, so tests and the stand-in do not depend on process-wide state.
import http from "node:http";
import https from "node:https";
import { EBSClient } from "@aws-sdk/client-ebs";
import { EC2Client } from "@aws-sdk/client-ec2";
import type { StaticCredentials } from "../credentials.js";
import { createPutBlock, type PutBlock } from "./put-block.js";

export interface AwsClientOptions {
  credentials?: StaticCredentials;
  env?: NodeJS.ProcessEnv;
  /** Sockets per agent; at least the block upload concurrency. */
  maxSockets?: number;
}

/** `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, as the SDK reads them (s3.ts too). */
export function endpointFromEnv(env: NodeJS.ProcessEnv, serviceId: "EC2" | "EBS" | "S3"): string | undefined {
  return env[`AWS_ENDPOINT_URL_${serviceId}`] || env.AWS_ENDPOINT_URL || undefined;
}

export interface AwsClients {
  region: string;
  ec2: EC2Client;
  ebs: EBSClient;
  putBlock: PutBlock;
  destroy(): void;
}

export function makeClients(region: string, opts: AwsClientOptions): AwsClients {
  const env = opts.env ?? process.env;
  const maxSockets = opts.maxSockets ?? 64;
  // Keep-alive agents sized for the upload's concurrency: Node's default agent would queue
  // requests behind a handful of sockets and reconnect for each block.
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
  const requestTimeoutMs = 120_000;
  const common = {
    region,
    // One retry policy (./retry.ts) instead of the SDK's 3 attempts under ours.
    maxAttempts: 1,
    requestHandler: { httpAgent, httpsAgent, requestTimeout: requestTimeoutMs },
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  };
  const ec2Endpoint = endpointFromEnv(env, "EC2");
  const ebsEndpoint = endpointFromEnv(env, "EBS");
  const ec2 = new EC2Client({ ...common, ...(ec2Endpoint ? { endpoint: ec2Endpoint } : {}) });
  const ebs = new EBSClient({ ...common, ...(ebsEndpoint ? { endpoint: ebsEndpoint } : {}) });
  const putBlock = createPutBlock({
    ebs,
    region,
    ...(ebsEndpoint ? { endpoint: ebsEndpoint } : {}),
    httpAgent,
    httpsAgent,
    requestTimeoutMs,
  });
  return {
    region,
    ec2,
    ebs,
    putBlock,
    destroy() {
      ec2.destroy();
      ebs.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
