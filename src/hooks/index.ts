import type { CustomizeRequest, CustomizeResponse, HookOptions, SyncRequest, SyncResponse } from "./types.js";
import { customize } from "./customize.js";
import { finalize } from "./finalize.js";
import { memoizedResolver } from "./resolve.js";
import { sync } from "./sync.js";

export type { HookOptions } from "./types.js";

export interface Hooks {
  customize(req: CustomizeRequest): CustomizeResponse;
  sync(req: SyncRequest, now: Date): SyncResponse;
  finalize(req: SyncRequest, now: Date): SyncResponse;
}

export function createHooks(options: HookOptions): Hooks {
  const resolve = memoizedResolver();
  return {
    customize,
    sync: (req, now) => sync(req, now, options, resolve),
    finalize: (req, now) => finalize(req, now, options, resolve),
  };
}
