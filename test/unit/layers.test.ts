// The layer table of DEVELOPERS.md, enforced: every relative import between the folders of src/
// must be one the table's "may import" column allows.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SRC = path.join(ROOT, "src");

/** folder -> the folders it may import, read from the table under "## Layout and layers". */
function layerTable(developersMd: string): Map<string, Set<string>> {
  const section = developersMd.split("## Layout and layers")[1]?.split("\n## ")[0] ?? "";
  const rows = section
    .split("\n")
    .filter((l) => l.startsWith("| `src/"))
    .map((l) => l.split("|").map((c) => c.trim()));
  const table = new Map<string, Set<string>>();
  for (const [, folderCell, , mayImport] of rows) {
    const folder = /`src\/([a-z]+)\/`/.exec(folderCell!)![1]!;
    const named = [...mayImport!.matchAll(/`src\/([a-z]+)`/g)].map((m) => m[1]!);
    const above = [...table.keys()];
    const allowed =
      mayImport === "everything"
        ? rows.map((r) => /`src\/([a-z]+)\/`/.exec(r[1]!)![1]!)
        : mayImport === "all of the above"
          ? above
          : named;
    table.set(folder, new Set(allowed));
  }
  return table;
}

interface FolderImport {
  file: string;
  from: string;
  to: string;
}

function relativeSpecifiers(source: string): string[] {
  return [...source.matchAll(/(?:from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
}

/** The relative imports of a source file that leave its top folder under src/. */
function folderImports(file: string, source: string): FolderImport[] {
  const from = path.relative(SRC, file).split(path.sep)[0]!;
  return relativeSpecifiers(source)
    .map((s) => path.relative(SRC, path.resolve(path.dirname(file), s)).split(path.sep)[0]!)
    .filter((to) => to !== from)
    .map((to) => ({ file: path.relative(ROOT, file), from, to }));
}

function violations(imports: FolderImport[], table: Map<string, Set<string>>): string[] {
  return imports
    .filter((i) => !table.get(i.from)?.has(i.to))
    .map((i) => `${i.file}: src/${i.from} may not import src/${i.to} (DEVELOPERS.md, Layout and layers)`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [path.join(dir, e.name)]
        : [],
  );
}

const table = layerTable(readFileSync(path.join(ROOT, "DEVELOPERS.md"), "utf8"));

describe("the layer table of DEVELOPERS.md", () => {
  it("names every folder of src/", () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect([...table.keys()].sort()).toEqual(folders.sort());
  });

  it("reads 'all of the above' and 'everything' as the folders they mean", () => {
    expect([...table.get("server")!]).toEqual(["util", "api", "plan", "hooks"]);
    expect(table.get("cli")!.size).toBe(table.size);
    expect([...table.get("publish")!]).toEqual(["util", "api", "plan"]);
  });

  it("holds for every import in src/", () => {
    const imports = sourceFiles(SRC).flatMap((f) => folderImports(f, readFileSync(f, "utf8")));
    expect(imports.length).toBeGreaterThan(100);
    expect(violations(imports, table)).toEqual([]);
  });

  it("refuses publish -> builder, hooks -> server and anything -> cli", () => {
    const file = (folder: string) => path.join(SRC, folder, "x", "y.ts");
    const imports = [
      ...folderImports(file("publish"), 'import type { A } from "../../builder/artifact.js";'),
      ...folderImports(file("hooks"), 'import { log } from "../../server/logger.js";'),
      ...folderImports(file("builder"), 'const m = await import("../../cli/progress.js");'),
      ...folderImports(file("builder"), 'export { x } from "../../publish/index.js";'),
    ];
    expect(violations(imports, table)).toEqual([
      "src/publish/x/y.ts: src/publish may not import src/builder (DEVELOPERS.md, Layout and layers)",
      "src/hooks/x/y.ts: src/hooks may not import src/server (DEVELOPERS.md, Layout and layers)",
      "src/builder/x/y.ts: src/builder may not import src/cli (DEVELOPERS.md, Layout and layers)",
    ]);
  });

  it("keeps the CLI's commands apart: a command module imports no other one (DEVELOPERS.md, src/cli)", () => {
    const commands = path.join(SRC, "cli", "commands");
    const crossing = (file: string, source: string) =>
      relativeSpecifiers(source)
        .map((s) => path.resolve(path.dirname(file), s))
        .filter((target) => path.dirname(target) === commands)
        .map((target) => `${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)}`);
    const found = sourceFiles(commands).flatMap((f) => crossing(f, readFileSync(f, "utf8")));
    expect(found).toEqual([]);
    expect(crossing(path.join(commands, "build.ts"), 'import { table } from "./publish.js";')).toEqual([
      "src/cli/commands/build.ts imports src/cli/commands/publish.js",
    ]);
  });
});
