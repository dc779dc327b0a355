import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerValidate(program: Command): void {
  program.command("validate").action(() => {
    throw new Error("bib validate: not implemented yet");
  });
}
