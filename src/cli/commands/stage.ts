import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerStage(program: Command): void {
  program.command("stage").action(() => {
    throw new Error("bib stage: not implemented yet");
  });
}
