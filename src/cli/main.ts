#!/usr/bin/env node
// `bib`: one binary for the local build, the build Pod's stages, publishing, cleanup and the hook
// service. This file only wires the commands; each lives in its own module.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerBuild } from "./commands/build.js";
import { registerCache } from "./commands/cache.js";
import { registerCleanup } from "./commands/cleanup.js";
import { registerPublish } from "./commands/publish.js";
import { registerRender } from "./commands/render.js";
import { registerServe } from "./commands/serve.js";
import { registerStage } from "./commands/stage.js";
import { registerValidate } from "./commands/validate.js";

// The same relative path from src/cli/main.ts (tsx) and dist/cli/main.js (compiled).
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("bib")
  .description("Bootable Image Builder: golden OS images from an ImageBuild")
  .version(version)
  .showHelpAfterError();

for (const register of [
  registerBuild,
  registerCache,
  registerValidate,
  registerRender,
  registerPublish,
  registerCleanup,
  registerStage,
  registerServe,
]) {
  register(program);
}

await program.parseAsync(process.argv);
