import type { Command } from "commander";

// Placeholder until the owning change lands.
export function registerRender(program: Command): void {
  program.command("render").action(() => {
    throw new Error("bib render: not implemented yet");
  });
}
