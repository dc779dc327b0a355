/**
 * JSON with object keys sorted at every level, so equal values always serialise to equal strings.
 * It hashes the spec as the user stored it, before anything has checked how deep that nests: a
 * value nested deeper than the fast path's bound is written without recursion. Both paths write
 * JSON.stringify(sortKeys(value)), except that a `__proto__` key JSON.parse made is kept.
 */
export function canonicalJson(value: unknown): string {
  const copy = sortedCopy(value, 1);
  return copy === TOO_DEEP ? canonicalJsonIterative(value) : (JSON.stringify(copy) ?? "null");
}

/** Deep enough for any spec; shallow enough for recursion (and JSON.stringify) to be safe. */
const FAST_PATH_NESTING = 256;
const TOO_DEEP = Symbol("too deep");

function sortedCopy(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > FAST_PATH_NESTING) return TOO_DEEP;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = sortedCopy(value[i], depth + 1);
      if (item === TOO_DEEP) return TOO_DEEP;
      out[i] = item;
    }
    return out;
  }
  // No prototype: a "__proto__" key stays an own property, as in the iterative path.
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of sortedKeys(value)) {
    const item = sortedCopy((value as Record<string, unknown>)[key], depth + 1);
    if (item === TOO_DEEP) return TOO_DEEP;
    out[key] = item;
  }
  return out;
}

function canonicalJsonIterative(value: unknown): string {
  if (value === null || typeof value !== "object") return primitive(value);
  let out = "";
  // One frame per open object or array: its members (sorted keys, or indices) and how far it got.
  const frames: Frame[] = [];
  const open = (v: object) => {
    const isArray = Array.isArray(v);
    out += isArray ? "[" : "{";
    frames.push({ v: v as Record<string, unknown>, keys: isArray ? undefined : sortedKeys(v), i: 0 });
  };
  open(value);
  while (frames.length) {
    const frame = frames[frames.length - 1]!;
    const length = frame.keys ? frame.keys.length : (frame.v as unknown as unknown[]).length;
    if (frame.i === length) {
      out += frame.keys ? "}" : "]";
      frames.pop();
      continue;
    }
    const i = frame.i++;
    if (i > 0) out += ",";
    const key = frame.keys?.[i];
    if (key !== undefined) out += `${JSON.stringify(key)}:`;
    const child = frame.v[key ?? i];
    if (child !== null && typeof child === "object") open(child);
    else out += primitive(child);
  }
  return out;
}

interface Frame {
  v: Record<string | number, unknown>;
  keys: string[] | undefined;
  i: number;
}

/** As JSON.stringify writes a value that is not an object; what JSON cannot hold is null in an array. */
function primitive(v: unknown): string {
  return JSON.stringify(v) ?? "null";
}

function sortedKeys(v: object): string[] {
  const record = v as Record<string, unknown>;
  let keys = Object.keys(v).sort();
  if (!keys.every((k) => record[k] !== undefined)) keys = keys.filter((k) => record[k] !== undefined);
  return keys.some(startsWithDigit) ? indicesFirst(keys) : keys;
}

const startsWithDigit = (key: string) => key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57;

/** An array index as a property key: JavaScript objects list these first, in numeric order. */
const ARRAY_INDEX = /^(0|[1-9]\d{0,9})$/;
const isIndex = (key: string) => ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;

/**
 * Sorted keys in the order JSON.stringify writes an object that sortKeys built by inserting them:
 * array indices first, in numeric order. buildIds depend on this order.
 */
function indicesFirst(sorted: string[]): string[] {
  const indices = sorted.filter(isIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...sorted.filter((k) => !isIndex(k))];
}

// Object.fromEntries defines each key as an own property: assigning would turn a `__proto__` key
// (JSON.parse keeps it as data) into a prototype change, and the key would vanish from the text.
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
