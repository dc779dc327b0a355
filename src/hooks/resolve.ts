// Resolving a parent into its build plan, with the rendered plan document, once per distinct
// (name, namespace, rebuild annotation, spec). Metacontroller syncs the same parents again and
// again (every Pod update, every resync) with the same spec, and validating and rendering the plan
// is most of a sync's cost, so each hook instance keeps a small memo. The memo changes no answer:
// an entry is a pure function of its key, and entries are frozen so that no caller can change one.
import type { FieldError } from "../api/validate.js";
import { ByteLru } from "../plan/byte-lru.js";
import { rebuildAnnotation, resolvePlan, type ParentObject, type PlanResult } from "../plan/plan.js";
import { canonicalJson } from "../plan/canonical-json.js";
import { planDocument } from "../plan/plan-document.js";

/** ConfigMaps hold at most 1 MiB; leave room for metadata. */
export const MAX_CONFIGMAP_BYTES = 1000 * 1024;

/** Bytes of a ConfigMap's data as the API server counts them: keys and values. */
export function dataBytes(data: Record<string, string>): number {
  return Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}

export interface ResolvedBuild {
  result: PlanResult;
  /** `plan.json` as the ConfigMap holds it; only for a valid plan. */
  planDocument?: string;
  /** Set when the inline contents do not fit in a ConfigMap. */
  tooBig?: FieldError;
}

export type Resolver = (parent: ParentObject) => ResolvedBuild;

export function resolveBuild(parent: ParentObject): ResolvedBuild {
  const result = resolvePlan(parent);
  if (!result.ok) return { result };
  const document = planDocument(result.plan);
  const bytes = [document, ...Object.values(result.plan.assets)].reduce(
    (n, s) => n + Buffer.byteLength(s),
    0,
  );
  if (bytes <= MAX_CONFIGMAP_BYTES) return { result, planDocument: document };
  return {
    result,
    tooBig: {
      path: "spec",
      message: `inline files, playbooks and scripts total ${Math.ceil(bytes / 1024)} KiB, more than a ConfigMap holds (${MAX_CONFIGMAP_BYTES / 1024} KiB); move playbooks to configMapRef or git`,
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface MemoLimits {
  /** Most entries kept; the least recently used goes first. */
  entries: number;
  /** Specs larger than this (as JSON) are resolved every time rather than kept. */
  maxKeyBytes: number;
  /** Most bytes kept over all entries (see entryBytes); the least recently used go first. */
  maxBytes: number;
}

export const DEFAULT_MEMO_LIMITS: MemoLimits = { entries: 256, maxKeyBytes: 64 * 1024, maxBytes: 8 << 20 };

/**
 * What an entry holds, in bytes: its key (the spec as canonical JSON) and the resolved plan, whose
 * inline contents and rendered document repeat the spec's content. A count alone would let 256
 * specs near the key limit hold tens of MiB in a 192 MiB heap.
 */
function entryBytes(key: string, resolved: ResolvedBuild): number {
  const assets = resolved.result.ok ? Object.values(resolved.result.plan.assets) : [];
  return [key, resolved.planDocument ?? "", ...assets].reduce((n, s) => n + s.length, 0);
}

export function memoizedResolver(limits: MemoLimits = DEFAULT_MEMO_LIMITS): Resolver {
  const memo = new ByteLru<string, ResolvedBuild>({ maxEntries: limits.entries, maxBytes: limits.maxBytes });
  return (parent) => {
    // Without recursion, as the spec has not been validated yet (canonical-json.ts).
    const key = canonicalJson([
      parent.metadata.name,
      parent.metadata.namespace ?? null,
      rebuildAnnotation(parent) ?? null,
      parent.spec ?? null,
    ]);
    if (key.length > limits.maxKeyBytes) return resolveBuild(parent);
    const hit = memo.get(key);
    if (hit) return hit;
    const resolved = deepFreeze(resolveBuild(parent));
    memo.set(key, resolved, entryBytes(key, resolved));
    return resolved;
  };
}
