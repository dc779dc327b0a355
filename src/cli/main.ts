#!/usr/bin/env node
// `bib`: one binary for the local build, the build Pod's stages, publishing, cleanup and the hook
// service. This file only wires the commands; each lives in its own module.
import { Command } from "commander";
import { registerBuild } from "./commands/build.js";
import { registerCleanup } from "./commands/cleanup.js";
import { registerPublish } from "./commands/publish.js";
import { registerRender } from "./commands/render.js";
import { registerServe } from "./commands/serve.js";
import { registerStage } from "./commands/stage.js";
import { registerValidate } from "./commands/validate.js";

const program = new Command("bib")
  .description("Bootable Image Builder: golden OS images from an ImageBuild")
  .showHelpAfterError();

for (const register of [
  registerBuild,
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
