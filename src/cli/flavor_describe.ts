import type { TSchema } from "@sinclair/typebox";
import { InputError } from "../errors.ts";
import { closest } from "../suggest.ts";
import { defineCommand } from "./command.ts";
import { flavorCatalog } from "./_stack.ts";

export default defineCommand({
  name: "flavor describe",
  summary: "Show a flavor's config fields: types, defaults, descriptions",
  usage: "flavor describe NAME [--json]",
  examples: ["imgb flavor describe docker", "imgb flavor describe podman --json"],
  options: { json: { type: "boolean", description: "Print the flavor's config JSON Schema" } },
  positionals: [{ name: "NAME", description: "Flavor name", required: true }],
  async run(args, io) {
    const catalog = flavorCatalog(io);
    const name = args.positionals[0]!;
    const entry = await catalog.load(name, {});
    if (!entry) {
      const guess = closest(name, catalog.names());
      throw new InputError("flavor.unknown", `Unknown flavor '${name}'`, { hint: guess ? `did you mean '${guess}'?` : `known flavors: ${catalog.names().join(", ")}` });
    }
    const { flavor, origin } = entry;
    if (args.options.json) {
      io.out(JSON.stringify({ name: flavor.name, type: flavor.type, origin, description: flavor.description, extraFlags: flavor.extraFlags ?? [], config: JSON.parse(JSON.stringify(flavor.config)) }, null, 2) + "\n");
      return;
    }
    const props = Object.entries(flavor.config.properties) as [string, TSchema][];
    const required = new Set(flavor.config.required ?? []);
    const lines = [`${flavor.name} (${origin === "builtin" ? "built-in" : origin}): ${flavor.description}`, "", "Config (image_builder.config):"];
    for (const [key, s] of props) {
      const def = s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : "";
      const req = required.has(key) && s.default === undefined ? " (required)" : "";
      lines.push(`  ${key}: ${typeName(s)}${def}${req}`);
      if (s.description) lines.push(`      ${s.description}`);
    }
    if (flavor.extraFlags?.length) lines.push("", `Accepted extra_flags (--flag=value, or --flag and value as two items): ${flavor.extraFlags.join(" ")}`);
    io.out(lines.join("\n") + "\n");
  },
});

function typeName(s: TSchema): string {
  if (s.anyOf) return (s.anyOf as TSchema[]).map(typeName).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return `${typeName(s.items as TSchema)}[]`;
  if (s.type === "string" && s.pattern) return `string (${s.pattern})`;
  return String(s.type ?? "any");
}
