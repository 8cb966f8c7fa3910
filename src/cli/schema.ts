import { defineCommand } from "./command.ts";
import { stackJsonSchema } from "../stack/json_schema.ts";
import { flavorRegistry } from "./_stack.ts";

export default defineCommand({
  name: "schema",
  summary: "Print the JSON Schema of the stack file, flavor configs included",
  usage: "schema",
  examples: ["imgb schema > imgb.schema.json", "# then, first line of imgb.yaml:  # yaml-language-server: $schema=./imgb.schema.json"],
  options: {},
  async run(_args, io) {
    const registry = flavorRegistry(io);
    // Registered flavors are part of the schema: import their flavor modules (never their builders).
    for (const r of registry.declared()) await registry.load(r.name, { file: r.source });
    io.out(JSON.stringify(stackJsonSchema(registry), null, 2) + "\n");
  },
});
