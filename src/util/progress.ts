// How long-running work (a conversion, an upload) reports how far it got; the CLI draws it, the
// build Pod logs it. Shared by the builder and the publishers, so it belongs to neither.
export interface Progress {
  /** Reports work done on one task (an upload, a copy); `total` in the same unit as `done`. */
  update(task: string, done: number, total: number, unit: "bytes" | "blocks"): void;
}
