// Reads a snapshot back through the real EBS client (ListSnapshotBlocks + GetSnapshotBlock) and
// compares it with a raw image, block by block: absent blocks must be zeros in the image.
import { open } from "node:fs/promises";
import { EBSClient, GetSnapshotBlockCommand, ListSnapshotBlocksCommand } from "@aws-sdk/client-ebs";
import { STANDIN_ACCESS_KEY, STANDIN_SECRET_KEY } from "./server.js";

const BLOCK = 524_288;

export async function snapshotMatchesFile(
  endpoint: string,
  region: string,
  snapshotId: string,
  rawPath: string,
): Promise<{ equal: boolean; firstDifference?: number; blocks: number }> {
  const ebs = new EBSClient({
    region,
    endpoint,
    credentials: { accessKeyId: STANDIN_ACCESS_KEY, secretAccessKey: STANDIN_SECRET_KEY },
  });
  const file = await open(rawPath, "r");
  try {
    const size = (await file.stat()).size;
    const present = new Map<number, string>();
    let token: string | undefined;
    do {
      const page = await ebs.send(
        new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, NextToken: token }),
      );
      for (const b of page.Blocks ?? []) present.set(b.BlockIndex!, b.BlockToken!);
      token = page.NextToken;
    } while (token);
    const expected = Buffer.alloc(BLOCK);
    for (let i = 0; i * BLOCK < size; i++) {
      expected.fill(0);
      await file.read(expected, 0, Math.min(BLOCK, size - i * BLOCK), i * BLOCK);
      let actual: Buffer;
      const blockToken = present.get(i);
      if (blockToken) {
        const out = await ebs.send(
          new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: i, BlockToken: blockToken }),
        );
        actual = Buffer.from(await out.BlockData!.transformToByteArray());
      } else {
        actual = Buffer.alloc(BLOCK);
      }
      if (!actual.equals(expected)) return { equal: false, firstDifference: i, blocks: present.size };
    }
    return { equal: true, blocks: present.size };
  } finally {
    await file.close();
    ebs.destroy();
  }
}
