import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerServe(program: Command): void {
  program.command("serve").action(() => {
    throw new Error("bib serve: not implemented yet");
  });
}
