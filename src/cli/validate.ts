import { InputErrors, type ImgbError } from "../errors.ts";
import { defineCommand, fileOption } from "./command.ts";
import { loadStackForCommand } from "./_stack.ts";
import { staticChecks } from "../orchestrate/static_checks.ts";

export default defineCommand({
  name: "validate",
  summary: "Check a stack file: YAML, schema, flavor config, paths and references",
  usage: "validate [-f FILE] [--set IMAGE.KEY=VALUE] [--json]",
  examples: ["imgb validate", "imgb validate -f deploy/imgb.yaml --json", "imgb validate --set '*.platforms=linux/amd64,linux/arm64'"],
  options: {
    ...fileOption,
    set: { type: "strings", value: "IMAGE.KEY=VALUE", description: "Override an image key, as for imgb build (checked like the file's values)" },
    json: { type: "boolean", description: "Print the result as JSON on stdout (errors included)" },
  },
  async run(args, io) {
    try {
      const { stack, catalog } = await loadStackForCommand(args.options, io, args.options.set);
      // What the flavor declares it cannot build (auto: not known until a build picks one).
      const flavor = catalog.get(stack.imageBuilder.flavor)?.flavor;
      const refused = flavor ? await staticChecks(stack, flavor) : [];
      if (refused.length > 0) throw new InputErrors(refused);
      const images = Object.keys(stack.images);
      if (args.options.json) io.out(JSON.stringify({ valid: true, file: stack.file, flavor: stack.imageBuilder.flavor, images }) + "\n");
      else io.err(`${stack.file}: valid (flavor ${stack.imageBuilder.flavor}, ${images.length} image${images.length === 1 ? "" : "s"}: ${images.join(", ")})`);
    } catch (e) {
      if (args.options.json && e instanceof Error && "code" in e) {
        const list: readonly ImgbError[] = e instanceof InputErrors ? e.errors : [e as ImgbError];
        io.out(JSON.stringify({ valid: false, errors: list.map((x) => x.toJSON()) }) + "\n");
      }
      throw e;
    }
  },
});
