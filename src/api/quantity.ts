// Kubernetes resource quantities, limited to the forms that make sense for sizes in bytes.

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

const MULTIPLIER: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const QUANTITY_PATTERN = QUANTITY.source;

/** Bytes for a quantity such as `8Gi` or `500M`, or undefined when it is not one. */
export function quantityToBytes(quantity: string | number): number | undefined {
  if (typeof quantity === "number")
    return Number.isSafeInteger(quantity) && quantity >= 0 ? quantity : undefined;
  const match = QUANTITY.exec(quantity);
  if (!match) return undefined;
  const bytes = Math.ceil(Number(match[1]) * (MULTIPLIER[match[2] ?? ""] ?? NaN));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `8589934592` -> `8Gi`; the largest binary unit that divides the value. */
export function bytesToQuantity(bytes: number): string {
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
    const m = MULTIPLIER[unit]!;
    if (bytes >= m && bytes % m === 0) return `${bytes / m}${unit}`;
  }
  return String(bytes);
}

// The full resource.Quantity grammar (decimal and binary suffixes, decimal exponents), read exactly
// as mantissa * 10^exp10 * 2^exp2 so that requests and limits compare without rounding.
const RESOURCE_QUANTITY =
  /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+))?$/;
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

interface ExactQuantity {
  mantissa: bigint;
  exp10: number;
  exp2: number;
}

function exactQuantity(quantity: string | number): ExactQuantity | undefined {
  if (typeof quantity === "number") {
    return Number.isSafeInteger(quantity) ? { mantissa: BigInt(quantity), exp10: 0, exp2: 0 } : undefined;
  }
  const match = RESOURCE_QUANTITY.exec(quantity);
  if (!match) return undefined;
  const [whole = "", fraction = ""] = match[1]!.split(".");
  const exponent = match[4];
  // Only whole exponents of up to three digits are read: beyond them no request or limit is meant,
  // and the powers of ten would grow without bound.
  if (exponent !== undefined && !/^[+-]?[0-9]{1,3}$/.test(exponent)) return undefined;
  return {
    mantissa: BigInt(`${whole}${fraction}` || "0"),
    exp10: -fraction.length + (match[3] ? DECIMAL_SUFFIX[match[3]]! : 0) + (exponent ? Number(exponent) : 0),
    exp2: match[2] ? BINARY_SUFFIX[match[2]]! : 0,
  };
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`; undefined if either is no quantity. */
export function compareQuantities(a: string | number, b: string | number): -1 | 0 | 1 | undefined {
  const x = exactQuantity(a);
  const y = exactQuantity(b);
  if (!x || !y) return undefined;
  const exp10 = Math.min(x.exp10, y.exp10);
  const exp2 = Math.min(x.exp2, y.exp2);
  const scale = (q: ExactQuantity) =>
    q.mantissa * 10n ** BigInt(q.exp10 - exp10) * 2n ** BigInt(q.exp2 - exp2);
  const [l, r] = [scale(x), scale(y)];
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Whether a quantity is a whole number (extended resources must be). */
export function isWholeQuantity(quantity: string | number): boolean | undefined {
  const q = exactQuantity(quantity);
  if (!q) return undefined;
  if (q.exp10 >= 0) return true;
  const value = q.mantissa * 2n ** BigInt(q.exp2);
  return value % 10n ** BigInt(-q.exp10) === 0n;
}
