/**
 * Builder nodes (issue #16): a flavor that declares `nodeKeys` (the config keys that say which
 * engine to reach) takes `nodes:` in its config — one engine per entry, each with its own
 * connection keys and, optionally, the platforms it builds natively — and `emulation`, whether
 * an image may go to a node that would build its platform under emulation. Here: the config
 * schema with those keys (derived from the flavor's, for validation and the JSON Schema), and
 * the split of a validated config into the shared config and one config per node.
 */
import { Type, type TObject, type TSchema } from "@sinclair/typebox";
import type { Flavor } from "../builder/flavor.ts";
import { InputError } from "../errors.ts";
import type { BuilderNode, ResolvedStack } from "./model.ts";
import type { Locator } from "./schema_errors.ts";

export const PLATFORM_PATTERN = "^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$";
const NODE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:@/-]*$";

/** The flavor's config schema, with `nodes` and `emulation` when the flavor declares `nodeKeys`. */
export function configSchemaWithNodes(flavor: Flavor): TObject {
  if (!flavor.nodeKeys?.length) return flavor.config;
  const own = flavor.config.properties as Record<string, TSchema>;
  const connection: Record<string, TSchema> = {};
  // Optional, and without the flavor's default: a key a node does not set comes from the shared config.
  for (const key of flavor.nodeKeys) {
    const { default: _, ...schema } = own[key]!;
    connection[key] = Type.Optional(schema as TSchema);
  }
  const node = Type.Object(
    {
      name: Type.Optional(Type.String({ pattern: NODE_NAME_PATTERN, description: "How imgb names the node in its output. Default: its address (the first connection key it sets)." })),
      platforms: Type.Optional(Type.Array(Type.String({ pattern: PLATFORM_PATTERN }), { minItems: 1, uniqueItems: true, description: "The platforms the node builds natively, e.g. [linux/arm64]. Default: the engine's own platform, asked when the build starts." })),
      ...connection,
    },
    { additionalProperties: false, description: `One engine: the shared config with these keys (${flavor.nodeKeys.join(", ")}) replaced.` },
  );
  return Type.Object(
    {
      ...own,
      nodes: Type.Optional(Type.Array(node, { minItems: 1, description: "Builder nodes: images are spread over these engines (each image to a node that builds its platform natively). Several nodes need a container_registry." })),
      emulation: Type.Optional(Type.Union([Type.Literal("allow"), Type.Literal("deny")], { description: "With nodes: may an image go to a node that would emulate its platform when no node builds it natively? Default: deny." })),
    },
    { additionalProperties: false },
  );
}

/**
 * Moves `nodes` and `emulation` out of the validated builder config into `imageBuilder.nodes`
 * and `.emulation`, each node's config being the shared one with that node's keys. Several nodes
 * without a registry are refused: an image built on one node reaches another only through it.
 */
export function resolveNodes(stack: ResolvedStack, flavor: Flavor, at: Locator, errors: InputError[]): void {
  const { nodes, emulation, ...shared } = stack.imageBuilder.config as { nodes?: Record<string, unknown>[]; emulation?: "allow" | "deny" } & Record<string, unknown>;
  stack.imageBuilder.config = shared;
  if (!nodes) return;
  if (!flavor.nodeKeys?.length) return; // the schema already refused `nodes` for this flavor
  const keys = flavor.nodeKeys;
  const seen = new Map<string, number>();
  const resolved: BuilderNode[] = nodes.map((entry, i) => {
    const connection = Object.fromEntries(keys.filter((k) => entry[k] !== undefined).map((k) => [k, entry[k]]));
    const firstKey = keys.find((k) => typeof entry[k] === "string");
    const name = (entry.name as string | undefined) ?? (firstKey ? String(entry[firstKey]) : `node${i + 1}`);
    const before = seen.get(name);
    if (before !== undefined) {
      errors.push(new InputError("stack.node-duplicate", `Builder nodes ${before + 1} and ${i + 1} are both named '${name}'`, {
        location: at(`/image_builder/config/nodes/${i}`, false),
        hint: "give each node its own address, or a `name`",
      }));
    }
    seen.set(name, i);
    const node: BuilderNode = { name, config: { ...shared, ...connection } };
    if (Array.isArray(entry.platforms)) node.platforms = entry.platforms as string[];
    return node;
  });
  if (resolved.length > 1 && !stack.containerRegistry) {
    errors.push(new InputError("stack.nodes-need-registry", `A builder with ${resolved.length} nodes needs a container_registry: images built on one node reach the others (and \${images.X.ref} resolves) only through a registry`, {
      location: at("/image_builder/config/nodes", true),
      hint: "add container_registry: { uri: HOST[:PORT] } that every node can pull from, or keep one node",
    }));
  }
  stack.imageBuilder.nodes = resolved;
  stack.imageBuilder.emulation = emulation ?? "deny";
}
