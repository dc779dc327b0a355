import {
  LABEL_BUILD_ID,
  LABEL_COMPONENT,
  LABEL_IMAGEBUILD,
  LABEL_MANAGED_BY,
  LABEL_PART_OF,
  MANAGED_BY,
} from "../../api/constants.js";
import { labelValue } from "../../plan/names.js";

export function buildLabels(
  imageBuildName: string,
  buildId: string,
  component: string,
): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_PART_OF]: "bib",
    [LABEL_COMPONENT]: component,
    [LABEL_IMAGEBUILD]: labelValue(imageBuildName),
    [LABEL_BUILD_ID]: buildId,
  };
}
