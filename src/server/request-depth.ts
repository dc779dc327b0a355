// Bounds on how deep a hook request may nest, checked once without recursion before anything walks
// the request recursively (zod, the response's JSON, the debug log). The parent's spec is exempt:
// it is the user's, and the hooks judge it (a spec too deep is SpecValid=False, not a bad request).
// Everything else comes from the API server, where nothing nests this deep; a request that does
// is refused with 400.
import { formatPath } from "../api/validate.js";
import { nestedDeeperThan, type JsonPath } from "../api/nesting.js";

/** Far beyond any Kubernetes object (a Pod's managedFields nest about 20 levels). */
export const MAX_REQUEST_NESTING = 100;

const SHOWN_PATH_SEGMENTS = 8;

function shownPath(path: JsonPath): string {
  const shown = formatPath("", path.slice(0, SHOWN_PATH_SEGMENTS));
  return path.length > SHOWN_PATH_SEGMENTS ? `${shown}...` : shown;
}

function withoutSpec(body: unknown): unknown {
  const parent = (body as { parent?: unknown } | null)?.parent;
  if (parent === null || typeof parent !== "object" || Array.isArray(parent)) return body;
  return { ...(body as object), parent: { ...parent, spec: null } };
}

/** A 400 issue for a request nested deeper than the limit outside parent.spec, if it is. */
export function requestNestingIssue(body: unknown): string | undefined {
  const path = nestedDeeperThan(withoutSpec(body), MAX_REQUEST_NESTING);
  return path && `${shownPath(path)}: nested more than ${MAX_REQUEST_NESTING} levels deep`;
}

/** The request as the debug log may show it: a spec too deep to serialise is left out. */
export function loggableRequest(body: unknown): unknown {
  const spec = (body as { parent?: { spec?: unknown } } | null)?.parent?.spec;
  if (!nestedDeeperThan(spec, MAX_REQUEST_NESTING)) return body;
  const parent = (body as { parent: object }).parent;
  return {
    ...(body as object),
    parent: { ...parent, spec: `[not logged: nested more than ${MAX_REQUEST_NESTING} levels deep]` },
  };
}
