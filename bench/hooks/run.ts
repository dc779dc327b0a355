// Hook service benchmark: `npx tsx bench/hooks/run.ts` (add --quick for a short run).
//
// A realistic sync request (parent + ConfigMap, Secret and Job children + 2 Pods, one failed
// attempt and one running) is captured from the lifecycle harness, then sent to
//   - the real service (createApp + real hooks, metrics, info logs to /dev/null), and
//   - a baseline: a minimal Express app that parses the same JSON and echoes it back,
// each in its own child process, measured in the same run with the same settings:
//   1. throughput with autocannon (same connections and duration), as a ratio ours/baseline;
//   2. p99 latency of back-to-back sequential requests, as a ratio ours/baseline;
//   3. RSS of the service after 50k and 100k sync calls over 10k distinct parents.
// Goals: throughput ratio >= 0.8, p99 ratio <= 1.5, no RSS growth between 50k and 100k.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import express from "express";
import { createHooks } from "../../src/hooks/index.js";
import { createApp } from "../../src/server/app.js";
import { createLogger } from "../../src/server/logger.js";
import { createMetrics } from "../../src/server/metrics.js";
import { Cluster, Kubelet, Metacontroller, b64, loadController } from "../../test/lifecycle/harness.js";
import { startServer } from "../../src/server/main.js";

const QUICK = process.argv.includes("--quick");
const CONNECTIONS = 8;
const DURATION_S = QUICK ? 3 : 8;
const SEQUENTIAL = QUICK ? 500 : 3000;
const RSS_TOTAL = QUICK ? 20_000 : 100_000;
const RSS_PARENTS = 10_000;
const RSS_CONCURRENCY = 16;
/** Hard bound on the whole RSS phase, whatever the machine's speed. */
const RSS_TIME_LIMIT_MS = 240_000;
const FIXED_NOW = new Date("2026-11-23T10:30:00Z");

// ------------------------------------------------------------------------------------------
// Child process: one server, ours or the baseline, on an ephemeral loopback port.

async function serveChild(kind: string) {
  let app;
  if (kind === "ours") {
    app = createApp({
      hooks: createHooks({ builderImage: "registry.test/bib/builder:bench" }),
      // Info level, as deployed; written to a file descriptor nobody reads would still cost the
      // same serialisation, so write to /dev/null through pino's own destination.
      logger: createLogger("info", (await import("pino")).pino.destination("/dev/null")),
      metrics: createMetrics({ defaultMetrics: true }),
      clock: () => FIXED_NOW,
    });
  } else {
    app = express();
    app.use(express.json({ limit: "32mb" }));
    app.post("/sync", (req, res) => {
      res.json(req.body);
    });
  }
  // RSS is asked for over IPC: the service app answers unknown routes with 404.
  process.on("message", () => process.send!({ rss: process.memoryUsage().rss }));
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  process.send!({ port });
}

function startChild(kind: "ours" | "baseline"): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "--child", kind],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start`)), 30_000);
    child.once("message", (m: { port: number }) => {
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${m.port}`, child });
    });
    child.once("exit", (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess) {
  child.removeAllListeners("exit");
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

// ------------------------------------------------------------------------------------------
// The request: captured from the harness after a failed first attempt and a running retry.

async function realisticRequest(): Promise<Record<string, unknown>> {
  const cluster = new Cluster();
  const kubelet = new Kubelet(cluster);
  const server = await startServer({
    hooks: createHooks({ builderImage: "registry.test/bib/builder:bench" }),
    logger: createLogger("silent"),
    metrics: createMetrics(),
    port: 0,
    host: "127.0.0.1",
    clock: () => cluster.now,
  });
  try {
    const mc = new Metacontroller({
      cluster,
      controller: loadController({ version: "v2" }),
      endpoints: [server.url],
    });
    cluster.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3", namespace: "images" },
      data: { AWS_ACCESS_KEY_ID: b64("AKIDEXAMPLE"), AWS_SECRET_ACCESS_KEY: b64("bench-secret-value") },
    });
    cluster.create({
      apiVersion: "bib.dev/v1alpha1",
      kind: "ImageBuild",
      metadata: { name: "debian", namespace: "images" },
      spec: {
        base: { debootstrap: { suite: "bookworm", include: ["systemd-sysv", "linux-image-amd64"] } },
        packages: ["openssh-server", "cloud-init", "qemu-guest-agent"],
        files: [{ path: "/etc/motd", content: "golden image\n" }],
        provisioners: [
          {
            name: "harden",
            ansible: { playbook: "- hosts: all\n  tasks:\n    - name: ssh\n      debug: msg=hi\n" },
          },
          { shell: { script: "set -eu\necho hello > /etc/hello\n" } },
        ],
        formats: ["qcow2", "raw"],
        publish: {
          s3: {
            bucket: "images",
            prefix: "debian/",
            region: "eu-west-1",
            credentialsSecretRef: { name: "s3" },
          },
        },
        builder: { retries: 1 },
      },
    });
    await mc.converge("images", "debian");
    const job = cluster.list("Job.batch/v1", "images")[0]!;
    kubelet.fail(job, "provision", 'provision: ansible task "ssh" failed');
    kubelet.run(job, "package");
    await mc.converge("images", "debian");
    const last = mc.calls.filter((c) => c.hook === "sync").at(-1)!.request;
    const children = last.children as Record<string, Record<string, unknown>>;
    const related = last.related as Record<string, Record<string, unknown>>;
    const count = (m: Record<string, Record<string, unknown>>, t: string) => Object.keys(m[t] ?? {}).length;
    if (
      count(children, "ConfigMap.v1") + count(children, "Secret.v1") + count(children, "Job.batch/v1") !==
        3 ||
      count(related, "Pod.v1") !== 2
    ) {
      throw new Error("the captured request does not have 3 children and 2 Pods");
    }
    return last;
  } finally {
    await server.shutdown();
  }
}

// ------------------------------------------------------------------------------------------

async function throughput(url: string, body: string) {
  const result = await autocannon({
    url: `${url}/sync`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  if (result.non2xx || result.errors)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

async function sequentialP99(url: string, body: string) {
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(`${url}/sync`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

async function rssOf(child: ChildProcess): Promise<number> {
  const reply = once(child, "message") as Promise<[{ rss: number }]>;
  child.send("rss");
  return (await reply)[0].rss;
}

async function rssRun(url: string, child: ChildProcess, template: string) {
  const rss = () => rssOf(child);
  const samples: Array<[string, number]> = [["start", await rss()]];
  const deadline = Date.now() + RSS_TIME_LIMIT_MS;
  let sent = 0;
  const callsUpTo = async (target: number) => {
    while (sent < target) {
      if (Date.now() > deadline)
        throw new Error(`RSS phase over ${RSS_TIME_LIMIT_MS} ms after ${sent} calls`);
      const n = sent++ % RSS_PARENTS;
      const body = template.replaceAll("__NAME__", `debian-${n}`).replaceAll("__UID__", `uid-${n}`);
      const res = await fetch(`${url}/sync`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    }
  };
  for (const target of [RSS_TOTAL / 2, RSS_TOTAL]) {
    await Promise.all(Array.from({ length: RSS_CONCURRENCY }, () => callsUpTo(target)));
    samples.push([`${target / 1000}k`, await rss()]);
  }
  return samples;
}

async function main() {
  const request = await realisticRequest();
  const body = JSON.stringify(request);
  const parent = request.parent as { metadata: { name: string; uid: string } };
  const template = body
    .replaceAll(`"name":"${parent.metadata.name}"`, '"name":"__NAME__"')
    .replaceAll(parent.metadata.uid, "__UID__");
  console.log(`request: ${body.length} bytes (parent + ConfigMap, Secret, Job + 2 Pods)`);
  console.log(
    `autocannon: ${CONNECTIONS} connections x ${DURATION_S} s each; sequential: ${SEQUENTIAL} requests each\n`,
  );

  const results: Record<string, { rps: number; acP99: number; seqP50: number; seqP99: number }> = {};
  for (const kind of ["baseline", "ours"] as const) {
    const { url, child } = await startChild(kind);
    try {
      await sequentialP99(url, body); // warm-up (JIT) before measuring
      const seq = await sequentialP99(url, body);
      const tp = await throughput(url, body);
      results[kind] = { rps: tp.rps, acP99: tp.p99, seqP50: seq.p50, seqP99: seq.p99 };
    } finally {
      await stopChild(child);
    }
  }
  const b = results.baseline!;
  const o = results.ours!;
  const row = (k: string, r: typeof b) =>
    `${k.padEnd(9)} ${r.rps.toFixed(0).padStart(7)} req/s   autocannon p99 ${r.acP99.toFixed(1).padStart(5)} ms   sequential p50 ${r.seqP50.toFixed(2)} ms p99 ${r.seqP99.toFixed(2)} ms`;
  console.log(row("baseline", b));
  console.log(row("ours", o));
  const tpRatio = o.rps / b.rps;
  const p99Ratio = o.seqP99 / b.seqP99;
  console.log(`\nthroughput ratio ours/baseline: ${tpRatio.toFixed(2)} (goal >= 0.8)`);
  console.log(`sequential p99 ratio ours/baseline: ${p99Ratio.toFixed(2)} (goal <= 1.5)`);

  const { url, child } = await startChild("ours");
  try {
    const t = Date.now();
    const samples = await rssRun(url, child, template);
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    const secs = ((Date.now() - t) / 1000).toFixed(0);
    console.log(`\nRSS over ${RSS_TOTAL} sync calls, ${RSS_PARENTS} distinct parents (${secs} s):`);
    console.log(samples.map(([k, v]) => `${k}: ${mb(v)}`).join("   "));
    const [[midLabel, mid], [endLabel, end]] = [samples[1]!, samples[2]!];
    const growth = `${mb(end - mid)} (${(((end - mid) / mid) * 100).toFixed(1)}%)`;
    console.log(`growth ${midLabel} -> ${endLabel}: ${growth}; goal: none`);
  } finally {
    await stopChild(child);
  }
}

const childIndex = process.argv.indexOf("--child");
if (childIndex >= 0) await serveChild(process.argv[childIndex + 1]!);
else await main();
