// `bib` as npm and the set-up install it: package.json's bin must name the file the build makes
// from src/cli/main.ts, executable, and the build must run when npm ci installs the package.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};
const build = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8")) as {
  compilerOptions: { rootDir: string; outDir: string };
};

describe("the bib bin", () => {
  it("is where tsconfig.build.json compiles src/cli/main.ts, which starts with a node shebang", () => {
    const { rootDir, outDir } = build.compilerOptions;
    const compiled = path.join(outDir, path.relative(rootDir, "src/cli/main.ts")).replace(/\.ts$/, ".js");
    expect(pkg.bin.bib).toBe(compiled);
    expect(readFileSync(path.join(ROOT, "src/cli/main.ts"), "utf8").split("\n")[0]).toBe(
      "#!/usr/bin/env node",
    );
  });

  it("is built and made executable by npm ci (prepare), not only by an explicit npm run build", () => {
    expect(pkg.scripts.prepare).toBe("npm run build");
    expect(pkg.scripts.build).toContain(`chmod 0755 ${pkg.bin.bib}`);
  });

  it("prints package.json's version with --version", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--version"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.status).toBe(0);
  });
});
