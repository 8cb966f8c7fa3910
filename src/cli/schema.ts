import { FlavorCatalog } from "../catalog/catalog.ts";
import { defineCommand } from "./command.ts";
import { stackJsonSchema } from "../stack/json_schema.ts";
import { flavorCatalog } from "./_stack.ts";

export default defineCommand({
  name: "schema",
  summary: "Print the JSON Schema of the stack file, flavor configs included",
  usage: "schema [--builtin]",
  examples: [
    "imgb schema > imgb.schema.json",
    "# then, first line of imgb.yaml:  # yaml-language-server: $schema=./imgb.schema.json",
    "imgb schema --builtin > imgb.schema.json   # the same on every machine: to commit or publish",
  ],
  options: {
    builtin: { type: "boolean", description: "Only the built-in flavors: a schema that does not depend on what this machine has registered" },
  },
  async run(args, io) {
    // --builtin never opens the store: the schema is the same on every machine of this version.
    const catalog = args.options.builtin ? FlavorCatalog.withBuiltins() : flavorCatalog(io);
    // Registered flavors are part of the schema: import their flavor modules (never their builders).
    for (const r of catalog.declared()) await catalog.load(r.name, { file: r.source });
    io.out(JSON.stringify(stackJsonSchema(catalog), null, 2) + "\n");
  },
});
