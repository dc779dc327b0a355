// The build Pod's result travels in its main container's termination message, which Kubernetes
// caps at 4096 bytes. A result that does not fit is shortened (optional fields first, then entries
// from the end) rather than cut, so the sync hook always reads valid JSON.
import { TERMINATION_MESSAGE_MAX_BYTES } from "../api/constants.js";
import type { BuildResult } from "../api/schema.js";

const size = (text: string) => Buffer.byteLength(text, "utf8");

export function terminationMessage(result: BuildResult, max = TERMINATION_MESSAGE_MAX_BYTES): string {
  const full = JSON.stringify(result);
  if (size(full) <= max) return full;
  const lean: BuildResult = {
    artifacts: result.artifacts,
    images: result.images.map(({ provider, region, imageId, snapshotId }) => ({
      provider,
      ...(region ? { region } : {}),
      ...(imageId ? { imageId } : {}),
      ...(snapshotId ? { snapshotId } : {}),
    })),
  };
  let text = JSON.stringify(lean);
  while (size(text) > max && (lean.images.length > 0 || lean.artifacts.length > 0)) {
    if (lean.images.length >= lean.artifacts.length) lean.images.pop();
    else lean.artifacts.pop();
    text = JSON.stringify(lean);
  }
  return text;
}
