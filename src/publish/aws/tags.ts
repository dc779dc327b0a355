// Tag keys the aws publisher writes and later searches by (resume, reuse, cleanup).
export { LABEL_BUILD_ID as TAG_BUILD_ID, LABEL_IMAGEBUILD as TAG_IMAGEBUILD } from "../../api/constants.js";
/** sha256 of the artifact a snapshot was written from: a rerun reuses only a snapshot of the same bytes. */
export const TAG_SOURCE_SHA256 = "bib.dev/source-sha256";

export function tagList(tags: Record<string, string>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }));
}
