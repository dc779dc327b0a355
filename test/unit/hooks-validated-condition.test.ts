import { describe, expect, it } from "vitest";
import { statusParts } from "../../src/hooks/build-status.js";
import { resolvePlan } from "../../src/plan/plan.js";

function plan(checks: Array<{ name: string; run: string }>) {
  const resolved = resolvePlan({
    metadata: { name: "b", namespace: "default" },
    spec: { base: { debootstrap: { suite: "bookworm" } }, validate: { boot: { checks } } },
  });
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  return resolved.plan;
}

const validated = (p: ReturnType<typeof plan>) =>
  statusParts(p, {
    kind: "succeeded",
    result: { artifacts: [], images: [] },
    completionTime: undefined,
  })!.conditions.find((c) => c.type === "Validated")!;

describe("the Validated condition", () => {
  it("counts the checks that passed in the booted VM", () => {
    const checks = ["a", "b", "c", "d", "e"].map((name) => ({ name, run: "true" }));
    expect(validated(plan(checks))).toMatchObject({
      status: "True",
      message: "the image booted and showed: login:; 5/5 checks passed",
    });
  });

  it("says nothing about checks when there are none", () => {
    expect(validated(plan([])).message).toBe("the image booted and showed: login:");
  });
});
