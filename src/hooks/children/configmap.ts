import type { V1ConfigMap } from "@kubernetes/client-node";
import { PLAN_FILE } from "../../api/constants.js";
import { planDocument } from "../../plan/plan-document.js";
import type { BuildPlan } from "../../plan/plan.js";

export const CLEANUP_FILE = "cleanup.json";

export function newConfigMap(
  name: string,
  plan: BuildPlan,
  labels: Record<string, string>,
  extra: Record<string, string> = {},
  document: string = planDocument(plan),
): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: plan.imageBuild.namespace, labels },
    data: { [PLAN_FILE]: document, ...plan.assets, ...extra },
  };
}
