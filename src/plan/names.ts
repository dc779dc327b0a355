import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";

export const BUILD_ID_LENGTH = 16;
/** How much of the buildId goes into child names: 40 bits keeps names short and collisions unlikely. */
export const NAME_ID_LENGTH = 10;
const MAX_NAME = 63;
const NAME_HASH_LENGTH = 6;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The build's identity: a hash of the spec as stored (not as defaulted, so that an operator upgrade
 * with new defaults does not rebuild anything) and the `bib.dev/rebuild` annotation. Key order does
 * not matter; metadata other than that annotation does not enter.
 */
export function computeBuildId(spec: unknown, rebuild: string | undefined): string {
  return sha256Hex(canonicalJson({ v: 1, spec: spec ?? null, rebuild: rebuild ?? "" })).slice(
    0,
    BUILD_ID_LENGTH,
  );
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * `<name>-<id>` as a DNS-1123 label of at most 63 characters. A parent name that cannot be used as
 * it is (too long, or with dots) is shortened and given a hash of the full name, so two parents
 * never share child names.
 */
export function childName(parentName: string, buildId: string, suffix = ""): string {
  const id = buildId.slice(0, NAME_ID_LENGTH) + suffix;
  const plain = `${parentName}-${id}`;
  if (DNS1123_LABEL.test(plain) && plain.length <= MAX_NAME) return plain;
  const room = MAX_NAME - id.length - NAME_HASH_LENGTH - 2;
  const stem = parentName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, room)
    .replace(/^-+|-+$/g, "");
  const hash = sha256Hex(parentName).slice(0, NAME_HASH_LENGTH);
  return [stem, hash, id].filter(Boolean).join("-");
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A parent name as a label value (at most 63 characters), shortened with a hash when needed. */
export function labelValue(name: string): string {
  if (name.length <= MAX_NAME && LABEL_VALUE.test(name)) return name;
  const hash = sha256Hex(name).slice(0, NAME_HASH_LENGTH);
  const stem = name.slice(0, MAX_NAME - NAME_HASH_LENGTH - 1).replace(/[^A-Za-z0-9]+$/, "");
  return `${stem}-${hash}`;
}
