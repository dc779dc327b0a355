// Watches a serial console for the patterns that prove a boot. Pure: fed text, asked questions.

// CSI and other escape sequences OVMF and getty paint the screen with; they would split words.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-9;=?]*[A-Za-z]|\u001b[()][A-Za-z0-9]|\u001b[=>]/g;

export function stripEscapes(text: string): string {
  return text.replace(ESCAPES, "").replace(/\r\n?/g, "\n");
}

export class ConsoleWatcher {
  private text = "";
  private readonly seen = new Set<string>();

  /** `patterns` are plain substrings, matched anywhere in the console output. */
  constructor(private readonly patterns: readonly string[]) {}

  feed(chunk: string): void {
    this.text += chunk;
    // A pattern may straddle two chunks; searching the whole cleaned text handles that, and a boot
    // log is small enough (well under a few MB) to keep.
    const clean = stripEscapes(this.text);
    for (const p of this.patterns) if (!this.seen.has(p) && clean.includes(p)) this.seen.add(p);
  }

  get done(): boolean {
    return this.patterns.every((p) => this.seen.has(p));
  }

  missing(): string[] {
    return this.patterns.filter((p) => !this.seen.has(p));
  }

  raw(): string {
    return this.text;
  }

  lastLines(n = 20): string {
    return stripEscapes(this.text)
      .split("\n")
      .map((l) => l.trimEnd())
      .filter((l) => l !== "")
      .slice(-n)
      .join("\n");
  }
}
