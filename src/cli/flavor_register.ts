import { InputError } from "../errors.ts";
import { sha256File } from "../catalog/catalog.ts";
import { builtinFlavors } from "../catalog/builtins.ts";
import { checkValidateHook } from "../catalog/validate_config.ts";
import { loadFlavorFile } from "../plugins/load_flavor_file.ts";
import { Store } from "../store/store.ts";
import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "flavor register",
  summary: "Register a custom flavor from its source file (the implementation is not loaded)",
  usage: "flavor register PATH [--replace]",
  examples: ["imgb flavor register ./flavors/kaniko.ts", "imgb flavor register ~/imgb/my_builder.ts --replace"],
  options: { replace: { type: "boolean", description: "Replace a flavor of the same name registered from another file" } },
  positionals: [{ name: "PATH", description: "A .ts or .js file that exports a flavor (defineFlavor from 'imgb')", required: true }],
  async run(args, io) {
    const flavor = await loadFlavorFile(args.positionals[0]!, io.cwd);
    const source = Bun.resolveSync(args.positionals[0]!.startsWith("/") ? args.positionals[0]! : `./${args.positionals[0]!}`, io.cwd);
    if (builtinFlavors.some((f) => f.name === flavor.name)) {
      throw new InputError("flavor.shadows-builtin", `Flavor name '${flavor.name}' is taken by a built-in flavor`, {
        location: { file: source },
        hint: "give your flavor another name",
      });
    }
    await checkValidateHook(flavor, source);
    const store = Store.open(io.env);
    try {
      store.putFlavor(
        { name: flavor.name, source, sha256: sha256File(source), schema: JSON.stringify(flavor.config), description: flavor.description, registeredAt: new Date().toISOString() },
        (existing) => {
          if (existing && existing.source !== source && !args.options.replace) {
            throw new InputError("flavor.duplicate", `Flavor '${flavor.name}' is already registered from '${existing.source}'`, {
              location: { file: source },
              hint: `use --replace, or 'imgb flavor remove ${flavor.name}' first`,
            });
          }
        },
      );
    } finally {
      store.close();
    }
    io.err(`Registered flavor '${flavor.name}' from '${source}'`);
    io.out(`${flavor.name}\n`);
  },
});
