import { InputError } from "../errors.ts";
import { Store } from "../store/store.ts";
import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "flavor remove",
  summary: "Forget a registered flavor (its source file is left alone)",
  usage: "flavor remove NAME",
  examples: ["imgb flavor remove kaniko"],
  options: {},
  positionals: [{ name: "NAME", description: "Name of a registered flavor", required: true }],
  async run(args, io) {
    const name = args.positionals[0]!;
    const store = Store.openIfExists(io.env) ? Store.open(io.env) : undefined;
    try {
      if (!store?.removeFlavor(name)) {
        throw new InputError("flavor.not-registered", `No registered flavor '${name}'`, { hint: "imgb flavor list shows the registered flavors" });
      }
    } finally {
      store?.close();
    }
    io.err(`Removed flavor '${name}'`);
  },
});
