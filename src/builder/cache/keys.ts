// Keys of the provisioned-tree cache: one per step prefix. Each key hashes the key before it and
// everything its own step's result depends on, so a change to any step changes the key of that
// step and of every step after it. Pure: the inputs are resolved (files read, git refs turned
// into commits, Secret values hashed) by inputs.ts.
import { createHash } from "node:crypto";
import type { ProvisionerPlan } from "../../plan/plan.js";

/** Bumped when what an entry holds, or how it is made, changes: older entries are then never hit. */
export const CACHE_FORMAT = 1;

export interface KeyBase {
  /** bib's own version and a hash of its build-time stand-ins: both end up in the saved tree. */
  bibVersion: string;
  standIns: string;
  /** What the base tree is: debootstrap inputs, a tarball's sha256 or an image digest. */
  base: unknown;
}

/** One cacheable step: its name as the runner shows it, and what its result depends on. */
export interface KeyedStepInput {
  step: string;
  content: unknown;
}

export interface KeyedStep {
  step: string;
  key: string;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON with object keys sorted, so that the same content always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });
}

export function stepKeys(base: KeyBase, steps: readonly KeyedStepInput[]): KeyedStep[] {
  let previous = sha256Hex(canonicalJson({ format: CACHE_FORMAT, ...base }));
  return steps.map(({ step, content }) => {
    previous = sha256Hex(canonicalJson({ previous, content }));
    return { step, key: previous.slice(0, 32) };
  });
}

/** Index of the last step whose entry exists (-1: none), given which keys the store holds. */
export function longestCachedPrefix(steps: readonly KeyedStep[], has: (key: string) => boolean): number {
  for (let i = steps.length - 1; i >= 0; i--) if (has(steps[i]!.key)) return i;
  return -1;
}

export function entryName(key: string): string {
  return `step-${key}`;
}

/** The names the provision steps carry in the runner (and in the timing table). */
export function provisionerStepName(p: ProvisionerPlan): string {
  return `${p.type} "${p.name}"`;
}
