import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerCleanup(program: Command): void {
  program.command("cleanup").action(() => {
    throw new Error("bib cleanup: not implemented yet");
  });
}
