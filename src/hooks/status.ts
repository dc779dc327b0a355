// ImageBuild status as the hooks read it from the parent and write it back. Pure.
import { readRecordedStatus, type RecordedStatus } from "../api/status-entries.js";
import type { Parent } from "./types.js";

/** Read field by field and entry by entry: what this version cannot read is kept, never dropped. */
export function previousStatus(parent: Parent): RecordedStatus {
  return readRecordedStatus(parent.status);
}

/** No empty lists or undefined fields: status is written as the API server would store it. */
export function compactStatus(status: RecordedStatus): RecordedStatus {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out as RecordedStatus;
}
