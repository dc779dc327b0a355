// One log line per interval for an event anyone can cause at any rate (an unauthenticated request):
// a line per event would let any Pod flood the logs. The events are still counted in full by the
// metrics; the next line that goes through says how many were left out since the last one.

export type LimitedLog = (write: (suppressed: number) => void) => void;

export function oncePerInterval(intervalMs: number, now: () => number = Date.now): LimitedLog {
  let nextAt = -Infinity;
  let suppressed = 0;
  return (write) => {
    const t = now();
    if (t < nextAt) {
      suppressed++;
      return;
    }
    nextAt = t + intervalMs;
    const left = suppressed;
    suppressed = 0;
    write(left);
  };
}
