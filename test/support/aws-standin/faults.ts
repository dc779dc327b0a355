// Fault injection: throttling storms, transient 5xx, and a kill switch, applied to matching
// requests before they reach the service logic.
export type Service = "ebs" | "ec2";

export interface Fault {
  service: Service;
  action?: string;
  kind: "throttle" | "error";
  /** How many requests this fault still hits. */
  remaining: number;
  /** Hit one matching request out of `every` (1 = all). */
  every: number;
  seen: number;
  status?: number;
}

export class Faults {
  private list: Fault[] = [];
  private putHooks: Array<{ after: number; fn: () => void }> = [];
  private puts = 0;
  private actionHooks: Array<{ action: string; fn: () => void }> = [];

  /** The next `count` matching requests (one of every `every`) are throttled the way AWS throttles. */
  throttle(service: Service, count: number, opts: { action?: string; every?: number } = {}): void {
    this.list.push({ service, kind: "throttle", remaining: count, every: opts.every ?? 1, seen: 0, ...opts });
  }

  /** The next `count` matching requests fail with a transient 5xx (500 or 503). */
  fail(
    service: Service,
    count: number,
    opts: { action?: string; every?: number; status?: 500 | 503 } = {},
  ): void {
    this.list.push({
      service,
      kind: "error",
      remaining: count,
      every: opts.every ?? 1,
      seen: 0,
      status: opts.status ?? 500,
      ...opts,
    });
  }

  /** Calls `fn` once the `after`-th PutSnapshotBlock has been stored: a crash in the middle of an upload. */
  onPut(after: number, fn: () => void): void {
    this.putHooks.push({ after, fn });
  }

  /** Calls `fn` once after the next successful request of `action`: a crash right after it. */
  after(action: string, fn: () => void): void {
    this.actionHooks.push({ action, fn });
  }

  clear(): void {
    this.list = [];
    this.putHooks = [];
    this.actionHooks = [];
  }

  succeeded(action: string): void {
    const hook = this.actionHooks.findIndex((h) => h.action === action);
    if (hook >= 0) this.actionHooks.splice(hook, 1)[0]!.fn();
  }

  pending(): number {
    return this.list.reduce((n, f) => n + f.remaining, 0);
  }

  /** The fault to apply to this request, if any. */
  take(service: Service, action: string): Fault | undefined {
    for (const f of this.list) {
      if (f.remaining <= 0 || f.service !== service || (f.action && f.action !== action)) continue;
      f.seen++;
      if ((f.seen - 1) % f.every !== 0) continue;
      f.remaining--;
      return f;
    }
    return undefined;
  }

  putStored(): void {
    this.puts++;
    for (const hook of this.putHooks) if (hook.after === this.puts) hook.fn();
  }
}
