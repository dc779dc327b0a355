// One measured run in its own process, so that its peak RSS is its own: either the aws publisher
// (mode "publish") or the baseline, a plain HTTP PUT of the same non-zero blocks (mode "put").
import http from "node:http";
import { open } from "node:fs/promises";
import pino from "pino";
import type { Artifact } from "../../src/plan/artifact.js";
import type { BuildPlan } from "../../src/plan/plan.js";
import { awsPublisher } from "../../src/publish/aws/publisher.js";
import { EBS_BLOCK_SIZE, blocksInRanges, isZeroBlock } from "../../src/publish/aws/blocks.js";
import { openRawSource } from "../../src/publish/aws/source.js";

interface Input {
  mode: "publish" | "put";
  plan: BuildPlan;
  artifact: Artifact;
  secretsDir: string;
  env: NodeJS.ProcessEnv;
  putUrl: string;
  concurrency: number;
}

const input = JSON.parse(process.argv[2]!) as Input;

async function plainPut(): Promise<number> {
  // The same bytes the publisher sends (non-zero 512 KiB blocks, found the same way), streamed
  // as one request: the best case for moving these bytes over loopback HTTP.
  const source = await openRawSource(input.artifact);
  const file = await open(source.path, "r");
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const req = http.request(
      input.putUrl,
      { method: "PUT", agent: new http.Agent({ keepAlive: false }) },
      (res) => {
        res.resume();
        res.on("end", resolve);
      },
    );
    req.on("error", reject);
    void (async () => {
      const block = Buffer.alloc(EBS_BLOCK_SIZE);
      for (const index of blocksInRanges(source.dataRanges, source.size)) {
        const offset = index * EBS_BLOCK_SIZE;
        const { bytesRead } = await file.read(
          block,
          0,
          Math.min(EBS_BLOCK_SIZE, source.size - offset),
          offset,
        );
        block.fill(0, bytesRead);
        if (isZeroBlock(block)) continue;
        sent += block.length;
        if (!req.write(Buffer.from(block))) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })().catch(reject);
  });
  await file.close();
  return sent;
}

const started = process.hrtime.bigint();
let bytes = 0;
if (input.mode === "publish") {
  await awsPublisher({ env: input.env, concurrency: input.concurrency, pollMs: 50 }).publish({
    plan: input.plan,
    artifacts: [input.artifact],
    secretsDir: input.secretsDir,
    volumeRoot: "/nonexistent",
    timestamp: 1_763_900_000,
    log: pino({ level: process.env.BENCH_LOG ?? "silent" }, pino.destination(2)),
    progress: { update() {} },
  });
} else {
  bytes = await plainPut();
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const usage = process.resourceUsage();
process.stdout.write(
  JSON.stringify({
    seconds,
    bytes,
    maxRssKiB: usage.maxRSS,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
  }),
);
