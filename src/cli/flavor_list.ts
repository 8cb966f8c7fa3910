import { FlavorRegistry } from "../registry/flavor_registry.ts";
import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "flavor list",
  summary: "List the built-in and registered flavors",
  usage: "flavor list [--json]",
  examples: ["imgb flavor list", "imgb flavor list --json"],
  options: { json: { type: "boolean", description: "Print as JSON" } },
  async run(args, io) {
    const flavors = FlavorRegistry.withBuiltins().list();
    if (args.options.json) {
      io.out(JSON.stringify(flavors.map(({ flavor, origin }) => ({ name: flavor.name, type: flavor.type, origin, description: flavor.description }))) + "\n");
      return;
    }
    const width = Math.max(4, ...flavors.map((f) => f.flavor.name.length)) + 2;
    const rows = [`${"NAME".padEnd(width)}${"ORIGIN".padEnd(10)}DESCRIPTION`];
    for (const { flavor, origin } of flavors) rows.push(`${flavor.name.padEnd(width)}${(origin === "builtin" ? "builtin" : "user").padEnd(10)}${flavor.description}`);
    io.out(rows.join("\n") + "\n");
  },
});
