/**
 * `imgb builders`: the engines a stack builds with — each builder node (or the one engine) with
 * its status, engine version and the platforms it builds natively — asked with the flavor's
 * probe, nothing built. Exit 1 when a node is down, so a CI step can check before building.
 */
import { RuntimeError } from "../errors.ts";
import { engineNodes, probeNodes, type NodeStatus } from "../orchestrate/nodes.ts";
import { defineCommand, fileOption } from "./command.ts";
import { loadStackForCommand, useAutoFlavor } from "./_stack.ts";

export default defineCommand({
  name: "builders",
  summary: "Show the stack's builder nodes (or its one engine): status, engine version, platforms",
  usage: "builders [-f FILE] [--json]",
  examples: ["imgb builders", "imgb builders --json | jq '.[] | select(.up | not)'"],
  options: { ...fileOption, json: { type: "boolean", description: "Print as JSON" } },
  async run(args, io) {
    const { stack, catalog } = await loadStackForCommand(args.options, io);
    await useAutoFlavor(stack, catalog, io);
    const { flavor } = catalog.get(stack.imageBuilder.flavor)!;
    const nodes = engineNodes(stack);
    const statuses = await probeNodes(flavor, nodes);
    if (args.options.json) {
      io.out(JSON.stringify(statuses.map((s, i) => ({ ...s, flavor: flavor.name, address: address(flavor.nodeKeys, nodes[i]!.config) }))) + "\n");
    } else {
      io.out(table(statuses, flavor.name, nodes.map((n) => address(flavor.nodeKeys, n.config))));
    }
    const down = statuses.filter((s) => !s.up);
    if (down.length === 0) return;
    if (!args.options.json) for (const s of down) io.err(`${s.name}: ${s.reason}${s.hint ? ` (hint: ${s.hint})` : ""}`);
    throw new RuntimeError("builders.down", `${down.length} of ${statuses.length} builder ${statuses.length === 1 ? "engine is" : "nodes are"} down: ${down.map((s) => `'${s.name}'`).join(", ")}`);
  },
});

/** Where a node's engine is: its connection keys as set (e.g. host=ssh://ci@amd1). */
function address(keys: readonly string[] | undefined, config: Record<string, unknown>): string {
  const set = (keys ?? []).filter((k) => config[k] !== undefined && config[k] !== false);
  return set.length ? set.map((k) => `${k}=${String(config[k])}`).join(" ") : "(default)";
}

function table(statuses: readonly NodeStatus[], flavor: string, addresses: readonly string[]): string {
  const rows = statuses.map((s, i) => [
    s.name,
    s.up ? "up" : "DOWN",
    s.version ?? (s.up ? flavor : ""),
    s.platforms ? `${s.platforms.join(",")}${s.platformsFrom === "stack" ? " (declared)" : ""}` : s.up ? "(any)" : "",
    addresses[i]!,
  ]);
  const head = ["NODE", "STATUS", "ENGINE", "PLATFORMS", "ADDRESS"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === cells.length - 1 ? x : x.padEnd(widths[c]!))).join("  ");
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}
