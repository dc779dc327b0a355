// The stand-in's account state: EBS snapshots with their blocks, AMIs, tags and permissions, per
// region and account, as the real services keep them.
import { createHash, randomBytes } from "node:crypto";

export const BLOCK_SIZE = 524_288;

export interface StoredSnapshot {
  id: string;
  region: string;
  owner: string;
  volumeSize: number;
  state: "pending" | "completed" | "error";
  startTime: Date;
  description: string;
  clientToken?: string;
  /** Parameters of StartSnapshot, to tell a retry from a different request with the same token. */
  requestKey: string;
  tags: Map<string, string>;
  /** Block index -> sha256 digest (and the data, unless the stand-in discards data). */
  digests: Map<number, Buffer>;
  data: Map<number, Buffer>;
  /** DescribeSnapshots calls that still report `pending` after CompleteSnapshot. */
  pendingDescribes: number;
  createVolumePermission: Set<string>;
}

export interface StoredImage {
  id: string;
  region: string;
  owner: string;
  name: string;
  description?: string;
  state: "pending" | "available" | "failed";
  architecture: string;
  bootMode?: string;
  imdsSupport?: string;
  enaSupport: boolean;
  virtualizationType: string;
  rootDeviceName: string;
  snapshotId: string;
  volumeType: string;
  tags: Map<string, string>;
  launchPermission: Set<string>;
  creationDate: Date;
  pendingDescribes: number;
  copyToken?: string;
}

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString("hex").slice(0, 17)}`;
}

export class AwsState {
  snapshots = new Map<string, StoredSnapshot>();
  images = new Map<string, StoredImage>();
  /** access key id -> account id; anything else is rejected as AWS rejects an unknown key. */
  accounts = new Map<string, string>();
  /** access key id -> secret access key, to verify each request's SigV4 signature. */
  secretKeys = new Map<string, string>();
  keepData: boolean;
  /** Counters tests and the benchmark read. */
  stats = { putBlocks: 0, putBytes: 0, requests: 0, throttled: 0, failed: 0 };

  constructor(opts: { keepData?: boolean } = {}) {
    this.keepData = opts.keepData ?? true;
  }

  snapshotsIn(region: string, owner: string): StoredSnapshot[] {
    return [...this.snapshots.values()].filter((s) => s.region === region && s.owner === owner);
  }

  imagesIn(region: string, owner: string): StoredImage[] {
    return [...this.images.values()].filter((i) => i.region === region && i.owner === owner);
  }

  /** LINEAR checksum of what was written: sha256 over the block digests in index order. */
  linearChecksum(snapshot: StoredSnapshot): string {
    const hash = createHash("sha256");
    for (const index of [...snapshot.digests.keys()].sort((a, b) => a - b))
      hash.update(snapshot.digests.get(index)!);
    return hash.digest("base64");
  }
}
