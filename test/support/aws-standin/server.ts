// A local HTTP stand-in for the EBS direct APIs and the EC2 Query API, reached by the real SDK
// clients through endpoint overrides (AWS_ENDPOINT_URL_EBS / _EC2). Which service and region a
// request is for comes from its SigV4 credential scope, as AWS routes by host name.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { checkSignature, parseAuthorization } from "./auth.js";
import { EbsError, ebsAction, ebsErrorReply, handleEbs, requestId, type Reply } from "./ebs.js";
import { Ec2Error, ec2ErrorReply, handleEc2 } from "./ec2.js";
import { Faults, type Service } from "./faults.js";
import { AwsState } from "./state.js";

export const STANDIN_ACCOUNT = "123456789012";
export const STANDIN_ACCESS_KEY = "AKIASTANDIN0000001";
export const STANDIN_SECRET_KEY = "standin-secret-not-a-real-key";

export interface CallRecord {
  service: Service;
  action: string;
  region: string;
  status: number;
}

export interface AwsStandin {
  url: string;
  state: AwsState;
  faults: Faults;
  calls: CallRecord[];
  /** Environment for a publisher: endpoints pointing here. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** A request body, hashed as it arrives; joined into one buffer only when a handler asks. */
export interface ReceivedBody {
  length: number;
  sha256: Buffer;
  bytes(): Buffer;
}

function readBody(req: http.IncomingMessage): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (c: Buffer) => {
      chunks.push(c);
      hash.update(c);
      length += c.length;
    });
    req.on("end", () => {
      let joined: Buffer | undefined;
      resolve({ length, sha256: hash.digest(), bytes: () => (joined ??= Buffer.concat(chunks, length)) });
    });
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, reply: Reply, rid: string): void {
  const body = reply.body ?? "";
  res.writeHead(reply.status, {
    "x-amzn-requestid": rid,
    "content-length": String(Buffer.byteLength(body)),
    ...reply.headers,
  });
  res.end(body);
}

export async function startAwsStandin(opts: { keepData?: boolean; port?: number } = {}): Promise<AwsStandin> {
  const state = new AwsState({ keepData: opts.keepData ?? true });
  state.accounts.set(STANDIN_ACCESS_KEY, STANDIN_ACCOUNT);
  state.secretKeys.set(STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY);
  const faults = new Faults();
  const calls: CallRecord[] = [];
  const sockets = new Set<Socket>();

  const server = http.createServer(async (req, res) => {
    const rid = requestId();
    const url = new URL(req.url ?? "/", "http://standin");
    const body = await readBody(req);
    const caller = parseAuthorization(req.headers.authorization);
    const isEc2 = caller ? caller.service === "ec2" : req.method === "POST" && url.pathname === "/";
    const service: Service = isEc2 ? "ec2" : "ebs";
    const params = isEc2 ? new URLSearchParams(body.bytes().toString("utf8")) : new URLSearchParams();
    const action = isEc2 ? (params.get("Action") ?? "") : ebsAction(req.method ?? "", url.pathname);
    const region = caller?.region ?? "";
    const reply = (r: Reply) => {
      calls.push({ service, action, region, status: r.status });
      send(res, r, rid);
      if (r.status < 300) faults.succeeded(action);
    };
    state.stats.requests++;
    try {
      if (!caller) {
        if (isEc2)
          throw new Ec2Error(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
          );
        throw new EbsError(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
      }
      const owner = state.accounts.get(caller.accessKeyId);
      if (!owner) {
        if (isEc2)
          throw new Ec2Error(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
          );
        throw new EbsError(
          403,
          "UnrecognizedClientException",
          "The security token included in the request is invalid.",
        );
      }
      const received = {
        method: req.method ?? "",
        target: req.url ?? "/",
        headers: req.headers,
        bodySha256: body.sha256,
      };
      const problem = checkSignature(received, caller, state.secretKeys.get(caller.accessKeyId) ?? "");
      if (problem === "expired") {
        if (isEc2) throw new Ec2Error(400, "RequestExpired", "Request has expired.");
        throw new EbsError(403, "InvalidSignatureException", "Signature expired.");
      }
      if (problem === "mismatch") {
        const message =
          "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.";
        if (isEc2) throw new Ec2Error(403, "SignatureDoesNotMatch", message);
        throw new EbsError(403, "InvalidSignatureException", message);
      }
      const fault = faults.take(service, action);
      if (fault?.kind === "throttle") {
        state.stats.throttled++;
        if (isEc2) throw new Ec2Error(503, "RequestLimitExceeded", "Request limit exceeded.");
        throw new EbsError(400, "RequestThrottledException", "Rate exceeded", "ACCOUNT_THROTTLED");
      }
      if (fault?.kind === "error") {
        state.stats.failed++;
        if (isEc2)
          throw new Ec2Error(
            fault.status ?? 500,
            fault.status === 503 ? "Unavailable" : "InternalError",
            "An internal error has occurred",
          );
        throw new EbsError(fault.status ?? 500, "InternalServerException", "An internal error has occurred");
      }
      if (isEc2) {
        if (params.get("Version") !== "2016-11-15")
          throw new Ec2Error(400, "InvalidParameterValue", "Unsupported Version");
        reply(handleEc2(action, { state, region, owner, params, requestId: rid }));
      } else {
        reply(
          handleEbs(action, {
            state,
            region,
            owner,
            req,
            url,
            body,
            onPutStored: () => faults.putStored(),
          }),
        );
      }
    } catch (error) {
      if (error instanceof Ec2Error) reply(ec2ErrorReply(error, rid));
      else if (error instanceof EbsError) reply(ebsErrorReply(error));
      else if (isEc2) reply(ec2ErrorReply(new Ec2Error(500, "InternalError", String(error)), rid));
      else reply(ebsErrorReply(new EbsError(500, "InternalServerException", String(error))));
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    state,
    faults,
    calls,
    env: { AWS_ENDPOINT_URL_EC2: url, AWS_ENDPOINT_URL_EBS: url },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
