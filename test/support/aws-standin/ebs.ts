// EBS direct APIs (restJson1), as strict as the service: exact block size, index within the
// volume, per-block SHA256 checksum, ChangedBlocksCount and LINEAR checksum on completion, and no
// writes once a snapshot is no longer pending. Errors carry x-amzn-errortype and a JSON body.
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ReceivedBody } from "./server.js";
import { BLOCK_SIZE, newId, type AwsState, type StoredSnapshot } from "./state.js";

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export class EbsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export function ebsErrorReply(e: EbsError): Reply {
  return {
    status: e.status,
    headers: {
      "content-type": "application/json",
      "x-amzn-errortype": `${e.code}:http://internal.amazon.com/coral/com.amazon.coral.service/`,
    },
    body: JSON.stringify({ __type: e.code, message: e.message, ...(e.reason ? { Reason: e.reason } : {}) }),
  };
}

const json = (status: number, body: unknown): Reply => ({
  status,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const invalid = (message: string, reason = "INVALID_PARAMETER_VALUE") =>
  new EbsError(400, "ValidationException", message, reason);

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function ebsAction(method: string, path: string): string {
  if (method === "POST" && path === "/snapshots") return "StartSnapshot";
  if (method === "PUT" && /^\/snapshots\/[^/]+\/blocks\/[^/]+$/.test(path)) return "PutSnapshotBlock";
  if (method === "POST" && /^\/snapshots\/completion\/[^/]+$/.test(path)) return "CompleteSnapshot";
  if (method === "GET" && /^\/snapshots\/[^/]+\/blocks$/.test(path)) return "ListSnapshotBlocks";
  if (method === "GET" && /^\/snapshots\/[^/]+\/blocks\/[^/]+$/.test(path)) return "GetSnapshotBlock";
  return "Unknown";
}

interface EbsCall {
  state: AwsState;
  region: string;
  owner: string;
  req: IncomingMessage;
  url: URL;
  body: ReceivedBody;
  onPutStored: () => void;
}

function findSnapshot(c: EbsCall, id: string): StoredSnapshot {
  const s = c.state.snapshots.get(decodeURIComponent(id));
  if (!s || s.region !== c.region || s.owner !== c.owner) {
    throw new EbsError(
      404,
      "ResourceNotFoundException",
      `The snapshot '${id}' does not exist.`,
      "SNAPSHOT_NOT_FOUND",
    );
  }
  return s;
}

export function handleEbs(action: string, c: EbsCall): Reply {
  const parts = c.url.pathname.split("/").filter(Boolean);
  switch (action) {
    case "StartSnapshot":
      return startSnapshot(c);
    case "PutSnapshotBlock":
      return putBlock(c, findSnapshot(c, parts[1]!), parts[3]!);
    case "CompleteSnapshot":
      return complete(c, findSnapshot(c, parts[2]!));
    case "ListSnapshotBlocks":
      return listBlocks(c, findSnapshot(c, parts[1]!));
    case "GetSnapshotBlock":
      return getBlock(c, findSnapshot(c, parts[1]!), parts[3]!);
    default:
      throw new EbsError(
        404,
        "UnknownOperationException",
        `Unknown operation ${c.req.method} ${c.url.pathname}`,
      );
  }
}

function startSnapshot(c: EbsCall): Reply {
  let input: {
    VolumeSize?: number;
    Tags?: Array<{ Key?: string; Value?: string }>;
    Description?: string;
    ClientToken?: string;
    Timeout?: number;
    ParentSnapshotId?: string;
  };
  try {
    input = JSON.parse(c.body.bytes().toString("utf8") || "{}");
  } catch {
    throw new EbsError(400, "SerializationException", "Could not parse the request body");
  }
  const size = input.VolumeSize;
  if (!Number.isInteger(size) || size! < 1 || size! > 65536) {
    throw invalid("VolumeSize must be between 1 and 65536 GiB", "INVALID_VOLUME_SIZE");
  }
  if (input.Timeout !== undefined && (input.Timeout < 10 || input.Timeout > 4320)) {
    throw invalid("Timeout must be between 10 and 4320 minutes");
  }
  if ((input.Description ?? "").length > 255) throw invalid("Description must be at most 255 characters");
  if (input.ClientToken !== undefined && (input.ClientToken.length < 1 || input.ClientToken.length > 64)) {
    throw invalid("ClientToken must be 1 to 64 characters");
  }
  for (const t of input.Tags ?? []) {
    if (!t.Key || t.Key.startsWith("aws:") || t.Key.length > 127 || (t.Value ?? "").length > 255) {
      throw invalid(`Invalid tag ${t.Key ?? ""}`, "INVALID_TAG");
    }
  }
  const requestKey = JSON.stringify({ size, tags: input.Tags ?? [], d: input.Description ?? "" });
  if (input.ClientToken) {
    const same = [...c.state.snapshots.values()].find(
      (s) => s.clientToken === input.ClientToken && s.owner === c.owner && s.region === c.region,
    );
    if (same) {
      if (same.requestKey !== requestKey) {
        throw new EbsError(
          409,
          "ConflictException",
          "The request uses the same client token as a previous, but non-identical request.",
        );
      }
      // While EBS finishes a completed snapshot it still reports `pending` (see DescribeSnapshots).
      const body = snapshotBody(same);
      return json(201, same.pendingDescribes > 0 ? { ...body, Status: "pending" } : body);
    }
  }
  const snapshot: StoredSnapshot = {
    id: newId("snap"),
    region: c.region,
    owner: c.owner,
    volumeSize: size!,
    state: "pending",
    startTime: new Date(),
    description: input.Description ?? "",
    ...(input.ClientToken ? { clientToken: input.ClientToken } : {}),
    requestKey,
    tags: new Map((input.Tags ?? []).map((t) => [t.Key!, t.Value ?? ""])),
    digests: new Map(),
    data: new Map(),
    pendingDescribes: 0,
    createVolumePermission: new Set(),
  };
  c.state.snapshots.set(snapshot.id, snapshot);
  return json(201, snapshotBody(snapshot));
}

function snapshotBody(s: StoredSnapshot) {
  return {
    SnapshotId: s.id,
    OwnerId: s.owner,
    Status: s.state,
    VolumeSize: s.volumeSize,
    BlockSize: BLOCK_SIZE,
    StartTime: s.startTime.getTime() / 1000,
    Description: s.description,
    Tags: [...s.tags].map(([Key, Value]) => ({ Key, Value })),
  };
}

function blockIndex(s: StoredSnapshot, raw: string): number {
  const index = Number(raw);
  if (!/^\d+$/.test(raw) || index >= (s.volumeSize * 2 ** 30) / BLOCK_SIZE) {
    throw invalid(`The block index ${raw} is outside the volume of ${s.volumeSize} GiB`, "INVALID_BLOCK");
  }
  return index;
}

function putBlock(c: EbsCall, s: StoredSnapshot, rawIndex: string): Reply {
  if (s.state !== "pending") {
    throw invalid(
      `The snapshot ${s.id} is not in the pending state; blocks can no longer be written`,
      "INVALID_SNAPSHOT_ID",
    );
  }
  const index = blockIndex(s, rawIndex);
  const length = Number(header(c.req, "x-amz-Data-Length"));
  const checksum = header(c.req, "x-amz-Checksum");
  const algorithm = header(c.req, "x-amz-Checksum-Algorithm");
  if (length !== BLOCK_SIZE || c.body.length !== BLOCK_SIZE) {
    throw invalid(
      `The block size must be ${BLOCK_SIZE} bytes (got Data-Length ${length}, body ${c.body.length})`,
      "INVALID_BLOCK",
    );
  }
  if (!checksum || !algorithm) throw invalid("Checksum and ChecksumAlgorithm are required");
  if (algorithm !== "SHA256") throw invalid(`Unsupported checksum algorithm ${algorithm}`);
  const digest = c.body.sha256;
  if (digest.toString("base64") !== checksum) {
    throw invalid(`The checksum of block ${index} does not match its data`, "INVALID_BLOCK");
  }
  s.digests.set(index, digest);
  if (c.state.keepData) s.data.set(index, c.body.bytes());
  c.state.stats.putBlocks++;
  c.state.stats.putBytes += c.body.length;
  c.onPutStored();
  return { status: 201, headers: { "x-amz-Checksum": checksum, "x-amz-Checksum-Algorithm": "SHA256" } };
}

function complete(c: EbsCall, s: StoredSnapshot): Reply {
  if (s.state === "completed") return json(202, { Status: "completed" });
  if (s.state !== "pending")
    throw invalid(`The snapshot ${s.id} is in the ${s.state} state`, "INVALID_SNAPSHOT_ID");
  const changed = Number(header(c.req, "x-amz-ChangedBlocksCount"));
  if (!Number.isInteger(changed) || changed !== s.digests.size) {
    throw invalid(`ChangedBlocksCount ${changed} does not match the ${s.digests.size} blocks written`);
  }
  const checksum = header(c.req, "x-amz-Checksum");
  if (checksum !== undefined) {
    if (header(c.req, "x-amz-Checksum-Algorithm") !== "SHA256")
      throw invalid("ChecksumAlgorithm SHA256 is required with Checksum");
    if (header(c.req, "x-amz-Checksum-Aggregation-Method") !== "LINEAR") {
      throw invalid("ChecksumAggregationMethod LINEAR is required with Checksum");
    }
    if (checksum !== c.state.linearChecksum(s)) {
      throw invalid(
        "The aggregated checksum does not match the blocks written; the snapshot is not complete",
      );
    }
  }
  s.state = "completed";
  // As in EC2, a completed snapshot is reported `pending` for a moment.
  s.pendingDescribes = 1;
  return json(202, { Status: "pending" });
}

// Block tokens name a snapshot block; they are opaque to clients as in the service.
function tokenFor(s: StoredSnapshot, index: number): string {
  return createHash("sha256").update(`${s.id}/${index}`).digest("base64url");
}

function listBlocks(c: EbsCall, s: StoredSnapshot): Reply {
  if (s.state !== "completed") throw invalid(`The snapshot ${s.id} is not completed`, "INVALID_SNAPSHOT_ID");
  const start = Number(
    c.url.searchParams.get("pageToken") ?? c.url.searchParams.get("startingBlockIndex") ?? 0,
  );
  const max = Math.min(10000, Number(c.url.searchParams.get("maxResults") ?? 10000));
  const all = [...s.digests.keys()].sort((a, b) => a - b).filter((i) => i >= start);
  const page = all.slice(0, max);
  const next = all[max];
  return json(200, {
    Blocks: page.map((BlockIndex) => ({ BlockIndex, BlockToken: tokenFor(s, BlockIndex) })),
    BlockSize: BLOCK_SIZE,
    VolumeSize: s.volumeSize,
    ExpiryTime: Date.now() / 1000 + 600,
    ...(next !== undefined ? { NextToken: String(next) } : {}),
  });
}

function getBlock(c: EbsCall, s: StoredSnapshot, rawIndex: string): Reply {
  const index = blockIndex(s, rawIndex);
  if (c.url.searchParams.get("blockToken") !== tokenFor(s, index))
    throw invalid("Invalid block token", "INVALID_BLOCK_TOKEN");
  const data = s.data.get(index);
  if (!data) throw invalid("The stand-in discarded this block's data (keepData: false)", "INVALID_BLOCK");
  return {
    status: 200,
    headers: {
      "content-type": "application/octet-stream",
      "x-amz-Data-Length": String(BLOCK_SIZE),
      "x-amz-Checksum": s.digests.get(index)!.toString("base64"),
      "x-amz-Checksum-Algorithm": "SHA256",
    },
    body: data,
  };
}

/** AWS request ids are UUIDs. */
export function requestId(): string {
  return randomUUID();
}
