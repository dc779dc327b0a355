// Peak memory of the hook service under large inline content: `npx tsx bench/hooks/memory.ts`
// (--requests N: requests per phase, default 300).
//
// The service runs as deployed: compiled with tsconfig.build.json (as the Dockerfile does), started
// as the image's entrypoint with the args and env of the Deployment's container (so with its
// NODE_OPTIONS heap limit, --max-old-space-size=192), logging at info to a pipe the bench drains.
// Each phase starts a fresh service and sends distinct valid /sync requests (a new parent and new
// content each time), 4 at a time, while sampling the service's RSS; the peak is the kernel's own
// high-water mark (VmHWM). Phases, measured in the same run:
//   baseline: small inline content (5 KiB file, 4 KiB playbook);
//   memoized: specs of ~55 KiB, under the resolver memo's key limit: the memo's byte bound holds them;
//   medium:   answers of ~180 KiB, small enough to be cached: the cache's byte bound holds them;
//   large:    the load that used to kill a replica (500 KiB file, 400 KiB playbook).
// Goal: the large phase completes (every answer 200, the process alive) and its peak RSS stays
// within a small factor of the baseline's, far below the Deployment's 256 Mi memory limit.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { run } from "../../src/util/exec.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const argIndex = process.argv.indexOf("--requests");
const REQUESTS = argIndex >= 0 ? Number(process.argv[argIndex + 1]) : 300;
const CONCURRENCY = 4;
const KiB = 1024;

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  resources?: { limits?: { memory?: string } };
}

/** The hook container of config/hooks/deployment.yaml: how the cluster starts the service. */
async function deployedContainer(): Promise<Container> {
  const text = await readFile(path.join(ROOT, "config/hooks/deployment.yaml"), "utf8");
  const deployment = parseAllDocuments(text)[0]!.toJS() as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === "hooks");
  if (!container) throw new Error("config/hooks/deployment.yaml has no container named hooks");
  return container;
}

/** Compiles src/ as the Dockerfile does, into a throwaway directory beside its node_modules. */
async function buildService(): Promise<{ dir: string; entry: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "bib-bench-memory-"));
  await run(path.join(ROOT, "node_modules/.bin/tsc"), [
    "-p",
    path.join(ROOT, "tsconfig.build.json"),
    "--outDir",
    path.join(dir, "dist"),
  ]);
  // As the image: package.json beside dist/ (ES modules; `bib --version` reads it).
  await copyFile(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  return { dir, entry: path.join(dir, "dist/cli/main.js") };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

function memoryKiB(pid: number): { rss: number; peak: number } {
  // Read synchronously between requests: a sample must not wait behind the load.
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

interface Service {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function startService(entry: string, container: Container): Promise<Service> {
  const port = await freePort();
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  Object.assign(env, {
    PORT: String(port),
    BIB_METRICS_PORT: String(await freePort()),
    BIB_LISTEN_HOST: "127.0.0.1",
    BIB_SHUTDOWN_DELAY_MS: "0",
  });
  const child = spawn(process.execPath, [entry, ...(container.args ?? [])], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.resume(); // info logs, one line per request: drained like a log collector would
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const url = `http://127.0.0.1:${port}`;
  // The machine may be busy: allow a slow start, but not a service that exited.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`the service did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, url, stderr: () => stderr, exited };
}

/** Distinct text of `bytes` ASCII characters, different for every `seed`. */
function content(seed: number, bytes: number): string {
  const line = `# ${seed} ${"abcdefghijklmnopqrstuvwxyz0123456789".repeat(2)}\n`;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

function syncRequest(i: number, fileBytes: number, playbookBytes: number): string {
  const playbook = `- hosts: all\n  tasks: []\n${content(i, playbookBytes)}`;
  return JSON.stringify({
    controller: { metadata: { name: "bib-imagebuild" } },
    parent: {
      apiVersion: "bib.dev/v1alpha1",
      kind: "ImageBuild",
      metadata: { name: `large-${i}`, namespace: "images", uid: `uid-${i}`, generation: 1 },
      spec: {
        base: { debootstrap: { suite: "bookworm" } },
        files: [{ path: "/etc/bench/data.txt", content: content(i, fileBytes) }],
        provisioners: [{ name: "configure", ansible: { playbook } }],
        formats: ["qcow2"],
      },
    },
    children: { "ConfigMap.v1": {}, "Secret.v1": {}, "Job.batch/v1": {} },
    related: { "Pod.v1": {}, "Secret.v1": {} },
    finalizing: false,
  });
}

/** The answer accepted the spec and asked for the build's ConfigMap (which carries the content). */
function specValid(answer: string): boolean {
  const body = JSON.parse(answer) as {
    status?: { conditions?: Array<{ type: string; status: string }> };
    children?: Array<{ kind: string }>;
  };
  const condition = body.status?.conditions?.find((c) => c.type === "SpecValid");
  return condition?.status === "True" && (body.children ?? []).some((c) => c.kind === "ConfigMap");
}

interface PhaseResult {
  label: string;
  answered: number;
  peakMiB: number;
  endMiB: number;
  alive: boolean;
  failure?: string;
}

async function phase(
  label: string,
  entry: string,
  container: Container,
  sizes: { file: number; playbook: number },
): Promise<PhaseResult> {
  const service = await startService(entry, container);
  const pid = service.child.pid!;
  let dead = false;
  void service.exited.then(() => (dead = true));
  let answered = 0;
  let failure: string | undefined;
  let next = 0;
  let lastSample = memoryKiB(pid);
  const worker = async () => {
    while (!dead && !failure && next < REQUESTS) {
      const i = next++;
      try {
        const res = await fetch(`${service.url}/sync`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: syncRequest(i, sizes.file, sizes.playbook),
        });
        const text = await res.text();
        if (res.status !== 200) failure ??= `request ${i}: HTTP ${res.status} ${text.slice(0, 200)}`;
        else if (!specValid(text)) failure ??= `request ${i}: not a valid build: ${text.slice(0, 300)}`;
        else answered++;
      } catch (err) {
        failure ??= `request ${i}: ${(err as Error).message}`;
      }
      sample();
    }
  };
  const sample = () => {
    try {
      const now = memoryKiB(pid);
      // A process that is exiting reports no memory: keep the last real sample.
      if (now.rss > 0) lastSample = now;
    } catch {
      // the process is gone; the last sample stands
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  // A failed request may be the process dying: give the exit a moment to be seen.
  if (failure) await Promise.race([service.exited, new Promise((r) => setTimeout(r, 2000))]);
  const alive = !dead;
  if (alive) {
    sample();
    service.child.kill("SIGTERM");
  } else {
    const reason =
      /Reached heap limit|heap out of memory/.exec(service.stderr())?.[0] ?? service.stderr().slice(0, 200);
    failure = `the service died after ${answered} answers (${reason}); last sample before: RSS ${(lastSample.rss / KiB).toFixed(1)} MiB`;
  }
  await service.exited;
  return {
    label,
    answered,
    peakMiB: lastSample.peak / KiB,
    endMiB: lastSample.rss / KiB,
    alive,
    ...(failure ? { failure } : {}),
  };
}

async function main() {
  const container = await deployedContainer();
  const nodeOptions = container.env?.find((e) => e.name === "NODE_OPTIONS")?.value ?? "(none)";
  console.log(
    `service: node dist/cli/main.js ${(container.args ?? []).join(" ")}, NODE_OPTIONS=${nodeOptions}, memory limit ${container.resources?.limits?.memory ?? "none"}`,
  );
  console.log(`load: ${REQUESTS} distinct valid /sync requests per phase, ${CONCURRENCY} at a time\n`);
  const { dir, entry } = await buildService();
  try {
    const loads: Array<[label: string, file: number, playbook: number]> = [
      ["baseline (5 KiB file, 4 KiB playbook)", 5, 4],
      ["memoized (30 KiB file, 25 KiB playbook)", 30, 25],
      ["medium (100 KiB file, 80 KiB playbook)", 100, 80],
      ["large (500 KiB file, 400 KiB playbook)", 500, 400],
    ];
    const results = [];
    for (const [label, file, playbook] of loads) {
      results.push(await phase(label, entry, container, { file: file * KiB, playbook: playbook * KiB }));
    }
    for (const r of results) {
      console.log(
        `${r.label.padEnd(40)} answered ${String(r.answered).padStart(4)}/${REQUESTS}   peak RSS ${r.peakMiB.toFixed(1).padStart(6)} MiB   RSS at the end ${r.alive ? `${r.endMiB.toFixed(1)} MiB` : "(dead)"}`,
      );
      if (r.failure) console.log(`  ${r.failure}`);
    }
    console.log(
      "\npeak RSS ratio against the baseline (goal: every request answered, peaks well under the 256 Mi limit):",
    );
    const [baseline, ...others] = results;
    for (const r of others) console.log(`  ${r.label}: ${(r.peakMiB / baseline!.peakMiB).toFixed(2)}`);
    if (results.some((r) => !r.alive || r.failure)) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
