/**
 * The engines of one run: the builder's nodes (src/stack/nodes.ts), or its one engine, each
 * asked once with the flavor's probe: is it up, which engine version, which platforms it builds
 * natively (as declared, else as the engine says). `imgb build` schedules over the nodes that
 * answer, `imgb print` plans with them, `imgb builders` shows them.
 */
import type { AnyFlavor } from "../builder/flavor.ts";
import { RuntimeError } from "../errors.ts";
import type { ResolvedStack } from "../stack/model.ts";
import type { Guard } from "./engine_probe.ts";
import type { Emulation, NodeSlot } from "./placement.ts";

export interface EngineNode {
  name: string;
  /** The flavor config for this node's engine. */
  config: Record<string, unknown>;
  /** Platforms as the stack declares them. */
  declared?: string[];
}

export interface NodeStatus {
  name: string;
  up: boolean;
  /** Why it is down (one line), with the flavor's hint. */
  reason?: string;
  hint?: string;
  version?: string;
  /** Declared, else what the engine says it runs; undefined: unknown (any). */
  platforms?: string[];
  /** Where `platforms` comes from. */
  platformsFrom?: "stack" | "engine";
}

/** Several nodes, or one engine (named `default`: only multi-node output names nodes). */
export function engineNodes(stack: ResolvedStack): EngineNode[] {
  const nodes = stack.imageBuilder.nodes;
  if (!nodes?.length) return [{ name: "default", config: stack.imageBuilder.config }];
  return nodes.map((n) => ({ name: n.name, config: n.config, ...(n.platforms ? { declared: n.platforms } : {}) }));
}

/** Does the stack spread work over nodes (a `nodes:` list), rather than one engine? */
export function hasNodes(stack: ResolvedStack): boolean {
  return (stack.imageBuilder.nodes?.length ?? 0) > 0;
}

/** Probes every node at once. A flavor without a probe: every node counts as up, platforms as declared. */
export async function probeNodes(flavor: AnyFlavor, nodes: readonly EngineNode[], guard: Guard = (_what, run) => run()): Promise<NodeStatus[]> {
  return Promise.all(nodes.map((n) => probeNode(flavor, n, guard)));
}

export async function probeNode(flavor: AnyFlavor, node: EngineNode, guard: Guard = (_what, run) => run()): Promise<NodeStatus> {
  const declared = node.declared ? { platforms: node.declared, platformsFrom: "stack" as const } : {};
  if (!flavor.probe) return { name: node.name, up: true, ...declared };
  const probe = flavor.probe;
  const r = await guard(`probing node '${node.name}'`, () => probe(node.config));
  if (!r.available) {
    const reason = oneLine(r.reason ?? `The ${flavor.name} engine is not available`);
    return { name: node.name, up: false, reason, ...(r.hint ? { hint: r.hint } : {}), ...declared };
  }
  const seen = r.platforms?.length ? { platforms: r.platforms, platformsFrom: "engine" as const } : {};
  return { name: node.name, up: true, ...(r.version ? { version: r.version } : {}), ...(node.declared ? declared : seen) };
}

/** The scheduler's view: name and native platforms. */
export function slots(statuses: readonly NodeStatus[]): NodeSlot[] {
  return statuses.map((s) => (s.platforms ? { name: s.name, platforms: s.platforms } : { name: s.name }));
}

/** The nodes found down, with why. */
export function downNodes(statuses: readonly NodeStatus[]): Map<string, string> {
  return new Map(statuses.filter((s) => !s.up).map((s) => [s.name, s.reason ?? "down"]));
}

/**
 * The platform an image without `platforms` is built for on a multi-node builder: the first
 * node's (its first platform), as buildx builds for its first node's platform. Pinning it keeps
 * the image's architecture from depending on which node was free. Undefined: no node says.
 */
export function defaultPlatform(statuses: readonly NodeStatus[]): string | undefined {
  return statuses.find((s) => s.platforms?.length)?.platforms?.[0];
}

/** Every node down before the start: one error naming each and why. */
export function refuseAllDown(statuses: readonly NodeStatus[]): void {
  if (statuses.some((s) => s.up)) return;
  const each = statuses.map((s) => `'${s.name}': ${s.reason}`).join("; ");
  const hints = [...new Set(statuses.flatMap((s) => (s.hint ? [s.hint] : [])))];
  throw new RuntimeError("build.nodes-unavailable", `All ${statuses.length} builder nodes are down (checked before building: nothing was built): ${each}`, hints.length ? { hint: hints.join("; ") } : {});
}

/** A build failed and its node no longer answers: the scheduler moves the image elsewhere. */
export class NodeDownError extends Error {
  override name = "NodeDownError";
  constructor(readonly node: string, readonly reason: string, cause: unknown) {
    super(`Builder node '${node}' is down: ${reason}`, { cause });
  }
}

/**
 * What the scheduler needs to place images on these nodes (shared by the build and the plan).
 * An image without platforms is built for the first node's: its architecture must not depend
 * on which node was free.
 */
export function nodePlacement(stack: ResolvedStack, statuses: readonly NodeStatus[]): { nodes: NodeSlot[]; down: Map<string, string>; emulation: Emulation; platforms: (image: string) => readonly string[] } {
  const pinned = defaultPlatform(statuses);
  return {
    nodes: slots(statuses),
    down: downNodes(statuses),
    emulation: stack.imageBuilder.emulation ?? "deny",
    platforms: (image) => (stack.images[image]!.platforms.length ? stack.images[image]!.platforms : pinned ? [pinned] : []),
  };
}

function oneLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
}
