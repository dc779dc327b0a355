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
