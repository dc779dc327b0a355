// The name of a cached debootstrap tree in the tree store (../cache/store.ts): the same suite,
// variant, includes and mirror give the same tree, reused for up to a day by the debootstrap step.
import { createHash } from "node:crypto";

export function treeCacheKey(input: {
  suite: string;
  variant?: string;
  include: readonly string[];
  mirror?: string;
}): string {
  const canonical = JSON.stringify({
    suite: input.suite,
    variant: input.variant ?? "",
    include: [...input.include].sort(),
    mirror: input.mirror ?? "",
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 24);
}
