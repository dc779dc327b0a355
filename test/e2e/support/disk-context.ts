// A StageContext for the disk steps over a scratch workspace, from a spec as a user would write it.
import { mkdir, mkdtemp } from "node:fs/promises";
import path from "node:path";
import { pino } from "pino";
import type { ImageBuildSpecInput } from "../../../src/api/schema.js";
import type { StageContext } from "../../../src/builder/stage.js";
import { resolvePlan } from "../../../src/plan/plan.js";
import { E2E_CACHE } from "./debian-rootfs.js";

export interface ProgressEvent {
  task: string;
  done: number;
  total: number;
}

export async function diskContext(
  name: string,
  spec: ImageBuildSpecInput,
  options: { timestamp?: number; signal?: AbortSignal } = {},
): Promise<StageContext & { events: ProgressEvent[] }> {
  const resolved = resolvePlan({ metadata: { name, namespace: "default" }, spec });
  if (!resolved.ok) throw new Error(`invalid test spec: ${JSON.stringify(resolved.errors)}`);
  await mkdir(E2E_CACHE, { recursive: true });
  const workspace = await mkdtemp(path.join(E2E_CACHE, `ws-${name}-`));
  await mkdir(path.join(workspace, "rootfs"), { recursive: true });
  const events: ProgressEvent[] = [];
  return {
    plan: resolved.plan,
    planDir: path.join(workspace, "plan"),
    workspace,
    secretsDir: path.join(workspace, "secrets"),
    configMapsDir: path.join(workspace, "configmaps"),
    volumeRoot: path.join(workspace, "out"),
    timestamp: options.timestamp ?? 1_700_000_000,
    log: pino({ level: process.env.BIB_TEST_LOG ?? "silent" }),
    progress: { update: (task, done, total) => events.push({ task, done, total }) },
    signal: options.signal ?? new AbortController().signal,
    events,
  };
}
