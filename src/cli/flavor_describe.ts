import type { TSchema } from "@sinclair/typebox";
import { InputError } from "../errors.ts";
import { configSchemaWithNodes } from "../stack/nodes.ts";
import { closest } from "../suggest.ts";
import { defineCommand } from "./command.ts";
import { flavorCatalog } from "./_stack.ts";
import type { Io } from "./io.ts";
import { AUTO_EXPLANATION, probeAuto } from "../catalog/auto.ts";
import { AUTO_DESCRIPTION, AUTO_FALLBACK, AUTO_ORDER } from "../catalog/builtins.ts";
import type { FlavorCatalog } from "../catalog/catalog.ts";
import { AUTO_FLAVOR } from "../stack/load.ts";

export default defineCommand({
  name: "flavor describe",
  summary: "Show a flavor's config fields: types, defaults, descriptions",
  usage: "flavor describe NAME [--json]",
  examples: ["imgb flavor describe docker", "imgb flavor describe podman --json", "imgb flavor describe auto   # what auto does, and what it picks here"],
  options: { json: { type: "boolean", description: "Print the flavor's config JSON Schema" } },
  positionals: [{ name: "NAME", description: "Flavor name", required: true }],
  async run(args, io) {
    const catalog = flavorCatalog(io);
    const name = args.positionals[0]!;
    if (name === AUTO_FLAVOR) return describeAuto(catalog, args.options.json, io);
    const entry = await catalog.load(name, {});
    if (!entry) {
      const names = [...catalog.names(), AUTO_FLAVOR];
      const guess = closest(name, names);
      throw new InputError("flavor.unknown", `Unknown flavor '${name}'`, { hint: guess ? `did you mean '${guess}'?` : `known flavors: ${names.join(", ")}` });
    }
    const { flavor, origin } = entry;
    if (args.options.json) {
      io.out(JSON.stringify({ name: flavor.name, type: flavor.type, origin, description: flavor.description, extraFlags: flavor.extraFlags ?? [], nodeKeys: flavor.nodeKeys ?? [], validates: flavor.validate !== undefined, config: JSON.parse(JSON.stringify(configSchemaWithNodes(flavor))) }, null, 2) + "\n");
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
    if (flavor.validate) lines.push("", "The flavor also checks the config itself (validate): imgb validate reports what it finds.");
    if (flavor.nodeKeys?.length) {
      lines.push("", `Builder nodes: config.nodes: [{ name?, platforms?, ${flavor.nodeKeys.join("?, ")}? }, …] and config.emulation: allow | deny (README: Builder nodes)`);
    }
    if (flavor.extraFlags?.length) lines.push("", `Accepted extra_flags (--flag=value, or --flag and value as two items): ${flavor.extraFlags.join(" ")}`);
    io.out(lines.join("\n") + "\n");
  },
});

/** auto has no config: say what it does, and what it would pick on this machine now. */
async function describeAuto(catalog: FlavorCatalog, json: boolean, io: Io): Promise<void> {
  const { chosen, probes } = await probeAuto(catalog, { all: true });
  if (json) {
    io.out(JSON.stringify({ name: AUTO_FLAVOR, type: "image_builder", origin: "builtin", description: AUTO_DESCRIPTION, order: AUTO_ORDER, fallback: AUTO_FALLBACK, probes, chosen: chosen?.name }, null, 2) + "\n");
    return;
  }
  const lines = [...AUTO_EXPLANATION, "", "On this machine:"];
  for (const { flavor, result } of probes) {
    lines.push(`  ${flavor.padEnd(8)} ${result.available ? "available" : `not available: ${result.reason ?? "no reason given"}`}`);
    if (!result.available && result.hint) lines.push(`  ${"".padEnd(8)} hint: ${result.hint}`);
  }
  lines.push(`  => auto builds with: ${chosen?.name ?? "nothing (no flavor available)"}`);
  io.out(lines.join("\n") + "\n");
}

function typeName(s: TSchema): string {
  if (s.anyOf) return (s.anyOf as TSchema[]).map(typeName).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return `${typeName(s.items as TSchema)}[]`;
  if (s.type === "string" && s.pattern) return `string (${s.pattern})`;
  return String(s.type ?? "any");
}
