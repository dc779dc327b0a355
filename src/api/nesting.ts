// How deep a JSON value nests, found without recursion. Most code that walks user data recurses
// (JSON.stringify, structured copies, the logger), and a value nested a few thousand levels deep
// makes it throw "Maximum call stack size exceeded". Where a value may nest freely (extraVars, an
// envelope's unknown parts), this check runs first and bounds the depth for everything after it.

export type JsonPath = Array<string | number>;

/**
 * The path to the first object or array nested more than `limit` levels deep in `value` (the value
 * itself being level 1 when it is an object or array), or undefined when there is none.
 */
export function nestedDeeperThan(value: unknown, limit: number): JsonPath | undefined {
  interface Frame {
    value: unknown;
    depth: number;
    key: string | number | undefined;
    up: Frame | undefined;
  }
  const stack: Frame[] = [{ value, depth: 1, key: undefined, up: undefined }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    const v = frame.value;
    if (v === null || typeof v !== "object") continue;
    if (frame.depth > limit) return pathOf(frame);
    const entries: Array<[string | number, unknown]> = Array.isArray(v)
      ? v.map((item, i) => [i, item])
      : Object.entries(v);
    for (const [key, item] of entries) {
      if (item !== null && typeof item === "object") {
        stack.push({ value: item, depth: frame.depth + 1, key, up: frame });
      }
    }
  }
  return undefined;

  function pathOf(frame: Frame): JsonPath {
    const path: JsonPath = [];
    for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.up) path.push(f.key);
    return path.reverse();
  }
}
