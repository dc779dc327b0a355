import type { Condition } from "../api/schema.js";
import { CONDITION, type ConditionReason, type ConditionType } from "../api/constants.js";

export type ConditionStatus = "True" | "False" | "Unknown";

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: ConditionReason;
  message: string;
}

const ORDER: ConditionType[] = [
  CONDITION.SpecValid,
  CONDITION.SecretsResolved,
  CONDITION.Built,
  CONDITION.Validated,
  CONDITION.Published,
  CONDITION.Ready,
];

/**
 * metav1.Condition semantics: lastTransitionTime moves only when the status changes, so a sync
 * that observes nothing new writes the same conditions again (no churn).
 */
export function withTransitionTimes(
  next: ConditionInput[],
  previous: Condition[] | undefined,
  now: string,
): Condition[] {
  return [...next]
    .sort((a, b) => ORDER.indexOf(a.type) - ORDER.indexOf(b.type))
    .map((c) => {
      const before = previous?.find((p) => p.type === c.type);
      const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now;
      return { ...c, lastTransitionTime };
    });
}
