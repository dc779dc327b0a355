// A map bounded both by a count and by bytes that the caller reckons for each value, the least
// recently used values going first. The hooks' resolver memo and the server's answer cache hold
// values whose size varies by orders of magnitude (inline files), so a count alone does not bound
// their memory. It lives in src/plan, like the other pure helpers the hooks share (canonical-json.ts,
// redact.ts): src/hooks may import src/plan but not src/util (DEVELOPERS.md, Layout and layers).

export interface ByteLruOptions<K> {
  /** Most values kept, whatever their size. */
  maxEntries: number;
  /** Most bytes kept over all values; a value larger than this on its own is not kept at all. */
  maxBytes: number;
  /** Told of each value pushed out to make room, so a caller can forget what it keeps beside it. */
  onEvict?: (key: K) => void;
}

export class ByteLru<K, V> {
  // Map keeps insertion order: least recently used first.
  private readonly byUse = new Map<K, { value: V; bytes: number }>();
  private total = 0;

  constructor(private readonly options: ByteLruOptions<K>) {}

  get size(): number {
    return this.byUse.size;
  }

  get bytes(): number {
    return this.total;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const entry = this.byUse.get(key);
    if (!entry) return undefined;
    this.byUse.delete(key);
    this.byUse.set(key, entry);
    return entry.value;
  }

  /**
   * Replaces what `key` held, then pushes out the least recently used values until both limits
   * hold. Returns whether the value is kept.
   */
  set(key: K, value: V, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.options.maxBytes) return false;
    this.byUse.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.byUse) {
      if (this.byUse.size <= this.options.maxEntries && this.total <= this.options.maxBytes) break;
      this.byUse.delete(oldest);
      this.total -= entry.bytes;
      this.options.onEvict?.(oldest);
    }
    return this.byUse.has(key);
  }

  delete(key: K): void {
    const entry = this.byUse.get(key);
    if (!entry) return;
    this.byUse.delete(key);
    this.total -= entry.bytes;
  }
}
