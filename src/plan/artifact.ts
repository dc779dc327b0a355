import { z } from "zod";
import { FORMATS } from "../api/schema.js";

/** A file the package stage produced, before it is published anywhere. */
export const artifactSchema = z.object({
  format: z.enum(FORMATS),
  /** Absolute path of the file on the machine that built it. */
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Artifact = z.infer<typeof artifactSchema>;
