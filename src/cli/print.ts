import { engineNodes, hasNodes, probeNodes } from "../orchestrate/nodes.ts";
import { planStackBuild } from "../orchestrate/plan.ts";
import { reuseMode, storeReuseCache } from "../orchestrate/reuse.ts";
import { Store } from "../store/store.ts";
import { defineCommand, fileOption } from "./command.ts";
import { loadStackForCommand, useAutoFlavor } from "./_stack.ts";
import { selectTargets } from "../stack/groups.ts";

export default defineCommand({
  name: "print",
  summary: "Print the resolved stack and the build plan as JSON (order, checksums, reuse) without building",
  usage: "print [-f FILE] [IMAGE…] [--set IMAGE.KEY=VALUE] [--no-plan]",
  examples: ["imgb print", "imgb print app --set app.target=debug | jq '.plan'", "imgb print --no-plan | jq '.images.app.buildArgs'"],
  options: {
    ...fileOption,
    set: { type: "strings", value: "IMAGE.KEY=VALUE", description: "Override an image key, as for imgb build" },
    reuse: { type: "string", value: "MODE", choices: ["registry", "local", "off"], description: "Plan with this reuse mode: registry, local or off, as for imgb build" },
    "no-plan": { type: "boolean", description: "Only the resolved stack: no checksums, no reuse checks (reads no contexts)" },
  },
  positionals: [{ name: "IMAGE", description: "Images or groups to plan, with what they depend on (default: the group 'default', else all)", variadic: true }],
  async run(args, io) {
    const { stack, catalog } = await loadStackForCommand(args.options, io, args.options.set);
    // Credentials carry only where the secret comes from (variable name / file), never its value.
    if (args.options["no-plan"]) {
      io.out(JSON.stringify(stack, null, 2) + "\n");
      return;
    }
    await useAutoFlavor(stack, catalog, io);
    const reuse = reuseMode(stack, args.options.reuse);
    let store: Store | undefined;
    try {
      store = Store.openIfExists(io.env);
    } catch (e) {
      io.err(`warning: earlier builds are unknown: ${(e as Error).message}`);
    }
    try {
      const flavor = catalog.get(stack.imageBuilder.flavor)!.flavor;
      // With builder nodes: each is asked once (up? platforms?), and each image gets its planned node.
      const nodes = hasNodes(stack) ? await probeNodes(flavor, engineNodes(stack)) : undefined;
      const plan = await planStackBuild(stack, flavor, {
        nodes,
        images: selectTargets(stack, args.positionals),
        env: io.env,
        reuse: store && reuse !== "off" ? storeReuseCache(store) : undefined,
        registryReuse: reuse === "registry",
        signal: io.signal,
      });
      io.out(JSON.stringify({ ...stack, reuse, ...(nodes ? { nodes } : {}), plan }, null, 2) + "\n");
    } finally {
      store?.close();
    }
  },
});
