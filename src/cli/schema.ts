import { defineCommand } from "./command.ts";
import { stackJsonSchema } from "../stack/json_schema.ts";
import { flavorCatalog } from "./_stack.ts";

export default defineCommand({
  name: "schema",
  summary: "Print the JSON Schema of the stack file, flavor configs included",
  usage: "schema",
  examples: ["imgb schema > imgb.schema.json", "# then, first line of imgb.yaml:  # yaml-language-server: $schema=./imgb.schema.json"],
  options: {},
  async run(_args, io) {
    const catalog = flavorCatalog(io);
    // Registered flavors are part of the schema: import their flavor modules (never their builders).
    for (const r of catalog.declared()) await catalog.load(r.name, { file: r.source });
    io.out(JSON.stringify(stackJsonSchema(catalog), null, 2) + "\n");
  },
});
