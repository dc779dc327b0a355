// Part of `npm run generate`: writes the stage table into README.md (between its markers) and
// formats it with Prettier, as `npm run format` would. test/unit/stage-table.test.ts checks drift.
import { readFile, writeFile } from "node:fs/promises";
import { format, resolveConfig } from "prettier";
import { withStageDoc } from "../src/plan/stage-doc.js";

const README_PATH = "README.md";

const readme = await readFile(README_PATH, "utf8");
const options = { ...(await resolveConfig(README_PATH)), filepath: README_PATH };
await writeFile(README_PATH, await format(withStageDoc(readme), options));
console.log(`wrote the stage table into ${README_PATH}`);
