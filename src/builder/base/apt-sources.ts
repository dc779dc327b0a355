// The Debian mirror this machine already uses, read from its apt configuration, so that a build
// without spec.base.debootstrap.mirror reaches the same mirror as the host (and no mirror name is
// baked into the product).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

interface SourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
}

/** deb822 `.sources` stanzas: blank-line separated, `Key: value`, `#` comments. */
export function parseDeb822Sources(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#") || !line.includes(":")) continue;
      const i = line.indexOf(":");
      fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    if (fields.get("enabled")?.toLowerCase() === "no") continue;
    const words = (key: string) => (fields.get(key) ?? "").split(/\s+/).filter(Boolean);
    if (fields.has("uris"))
      entries.push({ types: words("types"), uris: words("uris"), suites: words("suites") });
  }
  return entries;
}

/** One-line `deb [opts] URI suite components` entries of sources.list. */
export function parseOneLineSources(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw
      .replace(/#.*/, "")
      .replace(/\[[^\]]*\]/, " ")
      .trim();
    const [type, uri, suite] = line.split(/\s+/);
    if (type && uri && suite) entries.push({ types: [type], uris: [uri], suites: [suite] });
  }
  return entries;
}

/** The first binary (`deb`) source that carries a release suite (not -security or -updates). */
export function pickMirror(entries: readonly SourceEntry[]): string | undefined {
  for (const entry of entries) {
    if (!entry.types.includes("deb")) continue;
    const release = entry.suites.some((s) => !/-(security|updates|backports|proposed-updates)$/.test(s));
    const uri = entry.uris.find((u) => /^https?:\/\//.test(u));
    if (release && uri) return uri;
  }
  return undefined;
}

export async function hostAptMirror(etcApt = "/etc/apt"): Promise<string | undefined> {
  const entries: SourceEntry[] = [];
  const dir = path.join(etcApt, "sources.list.d");
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const text = await readFile(path.join(dir, name), "utf8").catch(() => "");
    if (name.endsWith(".sources")) entries.push(...parseDeb822Sources(text));
    else if (name.endsWith(".list")) entries.push(...parseOneLineSources(text));
  }
  entries.push(
    ...parseOneLineSources(await readFile(path.join(etcApt, "sources.list"), "utf8").catch(() => "")),
  );
  return pickMirror(entries);
}
