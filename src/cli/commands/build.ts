import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerBuild(program: Command): void {
  program.command("build").action(() => {
    throw new Error("bib build: not implemented yet");
  });
}
