// Writes the files generated from the zod schemas: the Release CRD and the
// strategy file's JSON Schema. `npm run generate`; a unit test fails when the
// committed files differ from what this would write.
import { writeFile } from "node:fs/promises";
import { generatedFiles } from "../src/api/generated-files.ts";

for (const file of generatedFiles()) {
  await writeFile(new URL(`../${file.path}`, import.meta.url), file.content);
  console.log(`wrote ${file.path}`);
}
