import type { Format } from "../api/schema.js";

/** A file the package stage produced, before it is published anywhere. */
export interface Artifact {
  format: Format;
  /** Absolute path of the file on the machine that built it. */
  path: string;
  size: number;
  sha256: string;
}
