import { existsSync } from "node:fs";
import { sha256File } from "../catalog/catalog.ts";
import { defineCommand } from "./command.ts";
import { flavorCatalog } from "./_stack.ts";

export default defineCommand({
  name: "flavor list",
  summary: "List the built-in and registered flavors",
  usage: "flavor list [--json]",
  examples: ["imgb flavor list", "imgb flavor list --json"],
  options: { json: { type: "boolean", description: "Print as JSON" } },
  async run(args, io) {
    const catalog = flavorCatalog(io);
    const rows = [
      ...catalog.list().map(({ flavor, origin }) => ({ name: flavor.name, origin, status: "ok", description: flavor.description })),
      // Registered flavors are described from their records: listing imports no user code.
      ...catalog.declared().map((r) => ({
        name: r.name,
        origin: r.source,
        status: !existsSync(r.source) ? "missing" : sha256File(r.source) !== r.sha256 ? "changed" : "ok",
        description: r.description,
      })),
    ];
    if (args.options.json) {
      io.out(JSON.stringify(rows) + "\n");
      return;
    }
    const width = Math.max(4, ...rows.map((f) => f.name.length)) + 2;
    const lines = [`${"NAME".padEnd(width)}${"STATUS".padEnd(9)}${"ORIGIN".padEnd(9)}DESCRIPTION`];
    for (const r of rows) {
      const origin = r.origin === "builtin" ? "builtin" : "user";
      lines.push(`${r.name.padEnd(width)}${r.status.padEnd(9)}${origin.padEnd(9)}${r.description}${origin === "user" ? ` (${r.origin})` : ""}`);
    }
    io.out(lines.join("\n") + "\n");
  },
});
