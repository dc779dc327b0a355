import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerPublish(program: Command): void {
  program.command("publish").action(() => {
    throw new Error("bib publish: not implemented yet");
  });
}
