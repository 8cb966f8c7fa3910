import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { AUTO_FLAVOR } from "../stack/load.ts";
import { builtinFlavors } from "../catalog/builtins.ts";
import { FLAVOR_NAME_PATTERN } from "../catalog/check_flavor.ts";
import { InputError, writeError } from "../errors.ts";
import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "flavor init",
  summary: "Write a new flavor's skeleton: flavor and builder files, imgb.d.ts, tsconfig.json, a stack",
  usage: "flavor init NAME [DIR] [--force]",
  examples: ["imgb flavor init kaniko", "imgb flavor init my-docker ./flavors/my-docker"],
  options: { force: { type: "boolean", description: "Overwrite files the skeleton writes that already exist" } },
  positionals: [
    { name: "NAME", description: "The flavor's name ([a-z][a-z0-9_-]*), used as image_builder.flavor", required: true },
    { name: "DIR", description: "Where to write it (default: ./NAME)" },
  ],
  async run(args, io) {
    const [name, dirArg] = args.positionals as [string, string | undefined];
    if (!FLAVOR_NAME_PATTERN.test(name)) {
      throw new InputError("flavor.init-name", `Invalid flavor name '${name}': must match ${FLAVOR_NAME_PATTERN.source}`, { hint: "lowercase letters, digits, '-' and '_', starting with a letter" });
    }
    if (name === AUTO_FLAVOR || builtinFlavors.some((f) => f.name === name)) {
      throw new InputError("flavor.init-name", `Flavor name '${name}' is taken by a built-in flavor`, { hint: "give your flavor another name" });
    }
    const dir = resolve(io.cwd, dirArg ?? name);
    const { flavorSkeleton } = await import("../plugins/flavor_skeleton.ts"); // carries imgb.d.ts: loaded on use
    const files = flavorSkeleton(name);
    const existing = Object.keys(files).filter((rel) => existsSync(join(dir, rel)));
    if (existing.length && !args.options.force) {
      throw new InputError("flavor.init-exists", `'${join(dir, existing[0]!)}' already exists${existing.length > 1 ? ` (and ${existing.length - 1} more of the skeleton's files)` : ""}`, {
        hint: "choose another DIR, or --force to overwrite the skeleton's files",
      });
    }
    for (const [rel, content] of Object.entries(files)) {
      const path = join(dir, rel);
      try {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, content);
      } catch (e) {
        throw writeError(e, "a flavor skeleton file", path);
      }
    }
    const rel = relative(io.cwd, dir);
    const shown = rel === "" ? "." : rel.startsWith("..") ? dir : rel;
    io.err(`Wrote flavor '${name}' in ${shown}: ${Object.keys(files).join(", ")}`);
    io.err(`Next: cd ${shown} && imgb flavor register ./flavor.ts && imgb build -f imgb.yaml   (docs/custom-flavor.md)`);
    io.out(`${dir}\n`);
  },
});
