// status.artifacts and status.images, read entry by entry. Status outlives the version that wrote
// it: a newer operator (or a newer CRD) may record a format or a provider this version does not
// know, and the hooks may be rolled back. One entry this version cannot read must not make it drop
// the others, nor drop that entry: each names something published, and only status remembers it.
import { z } from "zod";
import { artifactSchema, imageBuildStatusSchema, imageSchema, type ImageBuildStatus } from "./schema.js";
import type { StatusArtifact, StatusImage } from "./schema.js";

/** Status as read back: its outputs as written, including entries this version cannot read. */
export type RecordedStatus = Omit<ImageBuildStatus, "artifacts" | "images"> & {
  artifacts?: unknown[];
  images?: unknown[];
};

const statusFields = imageBuildStatusSchema.omit({ artifacts: true, images: true });

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A parent's status: the fields this version reads, and the outputs exactly as they were written. */
export function readRecordedStatus(status: unknown): RecordedStatus {
  const record = isObject(status) ? status : {};
  const parsed = statusFields.safeParse(record);
  const out: RecordedStatus = parsed.success ? { ...parsed.data } : {};
  if (Array.isArray(record.artifacts)) out.artifacts = record.artifacts;
  if (Array.isArray(record.images)) out.images = record.images;
  return out;
}

export interface ReadEntry<T> {
  /** Position in the list as written, for messages (`status.images[3]`). */
  index: number;
  /** The entry as this version reads it, or undefined when it cannot. */
  value: T | undefined;
  /** The entry as written. */
  raw: unknown;
}

function readEntries<T>(schema: z.ZodType<T>, list: unknown[] | undefined): Array<ReadEntry<T>> {
  return (list ?? []).map((raw, index) => {
    const parsed = schema.safeParse(raw);
    return { index, value: parsed.success ? parsed.data : undefined, raw };
  });
}

export const readArtifacts = (list: unknown[] | undefined) =>
  readEntries<StatusArtifact>(artifactSchema, list);
export const readImages = (list: unknown[] | undefined) => readEntries<StatusImage>(imageSchema, list);

/** The build an entry belongs to, readable or not; undefined when it does not say. */
export function entryBuildId(raw: unknown): string | undefined {
  return isObject(raw) && typeof raw.buildId === "string" ? raw.buildId : undefined;
}

// What cleanup needs to remove a published thing: nothing more, so that an entry with a field this
// version does not know (a new artifact format) is still cleaned up. Files on the build's volume
// (pvc://) are not cleaned up: they are the user's.
const cleanableArtifactSchema = z.looseObject({ location: z.string().regex(/^(s3|oci):\/\//) });
const volumeArtifactSchema = z.looseObject({ location: z.string().regex(/^pvc:\/\//) });
const cleanableImageSchema = z
  .looseObject({
    provider: z.string(),
    region: z.string().optional(),
    imageId: z.string().optional(),
    snapshotId: z.string().optional(),
    name: z.string().optional(),
    digest: z.string().optional(),
  })
  // An AMI is found by region and id (or its snapshot), a containerDisk by repository and digest.
  .refine((i) =>
    i.provider === "aws"
      ? !!i.region && !!(i.imageId || i.snapshotId)
      : i.provider === "oci" && !!i.name && !!i.digest,
  );

export type CleanableArtifact = z.infer<typeof cleanableArtifactSchema>;
export type CleanableImage = z.infer<typeof cleanableImageSchema>;

/** What a cleanup Job deletes (`cleanup.json`): entries as in status, reduced to what it acts on. */
export const cleanupTargetsSchema = z.object({
  artifacts: z.array(cleanableArtifactSchema).default([]),
  images: z.array(cleanableImageSchema).default([]),
});
export type CleanupTargets = z.infer<typeof cleanupTargetsSchema>;

export interface CleanupPlan {
  targets: CleanupTargets;
  /** Entries that name something published in a way this version cannot act on, e.g. `status.images[2]`. */
  unidentified: string[];
}

const IMAGE_TARGET_FIELDS = ["provider", "region", "imageId", "snapshotId", "name", "digest"] as const;

/**
 * Only the fields cleanup acts on: a status of thousands of entries must still fit in the cleanup
 * Job's ConfigMap (1 MiB), and sizes, hashes and formats do not help to delete anything.
 */
function compactImage(image: CleanableImage): CleanableImage {
  return Object.fromEntries(
    IMAGE_TARGET_FIELDS.filter((k) => typeof image[k] === "string").map((k) => [k, image[k]]),
  ) as CleanableImage;
}

/** Sorts recorded outputs into what cleanup deletes, what it leaves on purpose, and what it cannot identify. */
export function cleanupPlan(status: RecordedStatus): CleanupPlan {
  const plan: CleanupPlan = { targets: { artifacts: [], images: [] }, unidentified: [] };
  (status.artifacts ?? []).forEach((raw, i) => {
    const target = cleanableArtifactSchema.safeParse(raw);
    if (target.success) plan.targets.artifacts.push({ location: target.data.location });
    else if (!volumeArtifactSchema.safeParse(raw).success) plan.unidentified.push(`status.artifacts[${i}]`);
  });
  (status.images ?? []).forEach((raw, i) => {
    const target = cleanableImageSchema.safeParse(raw);
    if (target.success) plan.targets.images.push(compactImage(target.data));
    else plan.unidentified.push(`status.images[${i}]`);
  });
  return plan;
}
