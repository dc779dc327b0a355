// plan.json, the plan as the ConfigMap and the plan directory hold it (without `assets`, which are
// files beside it): its one writer and its one reader, over the plan's schema (plan-schema.ts).
import { sortKeys } from "./canonical-json.js";
import { parseJsonDocument } from "./json-document.js";
import { planDocumentSchema, type BuildPlan, type PlanDocument } from "./plan-schema.js";

/** plan.json's text: the plan without its inline contents, which sit beside it as keys/files of their own. */
export function planDocument(plan: BuildPlan): string {
  const { assets: _assets, ...rest } = plan;
  return `${JSON.stringify(sortKeys(rest), null, 2)}\n`;
}

/** Parses plan.json's text; the error names the file and the first field that is wrong. */
export function parsePlanDocument(text: string, file: string): PlanDocument {
  return parseJsonDocument(text, planDocumentSchema, `${file} is not a BuildPlan`);
}
