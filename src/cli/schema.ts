import { defineCommand } from "./command.ts";
import { stackJsonSchema } from "../stack/json_schema.ts";
import { FlavorRegistry } from "../registry/flavor_registry.ts";

export default defineCommand({
  name: "schema",
  summary: "Print the JSON Schema of the stack file, flavor configs included",
  usage: "schema",
  examples: ["imgb schema > imgb.schema.json", "# then, first line of imgb.yaml:  # yaml-language-server: $schema=./imgb.schema.json"],
  options: {},
  async run(_args, io) {
    io.out(JSON.stringify(stackJsonSchema(FlavorRegistry.withBuiltins()), null, 2) + "\n");
  },
});
