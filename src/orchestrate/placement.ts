/**
 * Which builder node builds what (issue #16): pure decisions, no engine. A node serves a
 * platform natively when it lists it (or lists nothing: an engine that did not say). A task is
 * placed per (image, platform), `Placement`. An image goes whole to one node when a live node
 * serves all its platforms natively; else a multi-platform image is split, each platform to a
 * node serving it natively (then the orchestrator assembles the index, split_platforms.ts).
 * An emulating node only when no live node serves a platform natively and emulation is allowed;
 * among the candidates the least busy one wins.
 */

export interface NodeSlot {
  name: string;
  /** Native platforms; undefined: any (the engine did not say, or a single engine). */
  platforms?: readonly string[];
}

export type Emulation = "allow" | "deny";

/** One platform of one image on one node. `platform` undefined: the node's own (no platform asked). */
export interface Placement {
  image: string;
  platform?: string;
  node: string;
  /** False when the node builds the platform under emulation. */
  native: boolean;
}

export function servesNatively(node: NodeSlot, platform: string): boolean {
  return node.platforms === undefined || node.platforms.includes(platform);
}

/**
 * The nodes that may build `platforms`, best first: the live nodes serving all natively, else
 * (emulation allowed) every live node; none: `why` says so in a sentence.
 */
export function candidates(platforms: readonly string[], nodes: readonly NodeSlot[], down: ReadonlyMap<string, string>, emulation: Emulation): { nodes: NodeSlot[]; native: boolean } | { why: string } {
  const live = nodes.filter((n) => !down.has(n.name));
  const native = live.filter((n) => platforms.every((p) => servesNatively(n, p)));
  if (native.length) return { nodes: native, native: true };
  if (live.length && emulation === "allow") return { nodes: live, native: false };
  const wanted = platforms.join(", ");
  const about = nodes.map((n) => `'${n.name}' ${down.has(n.name) ? `is down (${down.get(n.name)})` : `builds ${n.platforms?.join(", ") ?? "any platform"}`}`).join("; ");
  if (!live.length) return { why: `no builder node is up: ${about}` };
  return { why: `no builder node that is up builds ${wanted} natively (${about}), and emulation is denied: set emulation: allow in the builder config to build it under emulation, or add a node for it` };
}

/** One platform of a split image and the nodes that may build it, best first. */
export interface PlatformCandidates {
  platform: string;
  nodes: NodeSlot[];
  native: boolean;
}

/**
 * How an image may be placed: whole on one of `whole` (a node that serves every platform
 * natively wins: no split needed), else, with several platforms, split: each platform on one of
 * its own candidates (unless that is one node for all: whole there, emulating). `why`: some
 * platform has no node at all (the sentence names it).
 */
export type Choice = { whole: NodeSlot[]; native: boolean } | { split: PlatformCandidates[] } | { why: string };

export function choose(platforms: readonly string[], nodes: readonly NodeSlot[], down: ReadonlyMap<string, string>, emulation: Emulation): Choice {
  const whole = candidates(platforms, nodes, down, emulation);
  if ("why" in whole && platforms.length < 2) return whole;
  if (!("why" in whole) && (whole.native || platforms.length < 2)) return { whole: whole.nodes, native: whole.native };
  const split: PlatformCandidates[] = [];
  for (const platform of platforms) {
    const c = candidates([platform], nodes, down, emulation);
    if ("why" in c) return c;
    split.push({ platform, nodes: c.nodes, native: c.native });
  }
  // Every platform to the same one node (the others down, emulation allowed): no split, the
  // flavor's own multi-platform build there.
  const used = new Set(split.flatMap((p) => p.nodes.map((n) => n.name)));
  if (used.size === 1 && !("why" in whole)) return { whole: whole.nodes, native: whole.native };
  return { split };
}

/**
 * The node for a task now: among the candidates with a free slot (`busy` < `jobs`), the least
 * busy, then the one that started fewest tasks, then the first listed. Undefined: all are full.
 */
export function pickNode(options: readonly NodeSlot[], busy: ReadonlyMap<string, number>, started: ReadonlyMap<string, number>, jobs: number): NodeSlot | undefined {
  let best: NodeSlot | undefined;
  for (const n of options) {
    const b = busy.get(n.name) ?? 0;
    if (b >= jobs) continue;
    if (!best) {
      best = n;
      continue;
    }
    const bb = busy.get(best.name) ?? 0;
    if (b < bb || (b === bb && (started.get(n.name) ?? 0) < (started.get(best.name) ?? 0))) best = n;
  }
  return best;
}

/** The placements of a whole image on `node`: one per platform (one with no platform when none is asked). */
export function placeWhole(image: string, platforms: readonly string[], node: NodeSlot): Placement[] {
  if (!platforms.length) return [{ image, node: node.name, native: true }];
  return platforms.map((platform) => ({ image, platform, node: node.name, native: servesNatively(node, platform) }));
}

/**
 * The plan `imgb print` shows: each image in build order to the candidate that has been given
 * the fewest images (or platforms of split images) so far (the build itself goes by how busy
 * nodes are at the time, so the real spread can differ, never the platforms a node gets).
 * Unplaceable images get `why`.
 */
export function plannedPlacements(order: readonly string[], platforms: (image: string) => readonly string[], nodes: readonly NodeSlot[], down: ReadonlyMap<string, string>, emulation: Emulation): Map<string, Placement[] | { why: string }> {
  const given = new Map<string, number>();
  const give = (options: readonly NodeSlot[]) => {
    const node = pickNode(options, given, new Map(), Number.POSITIVE_INFINITY)!;
    given.set(node.name, (given.get(node.name) ?? 0) + 1);
    return node;
  };
  const out = new Map<string, Placement[] | { why: string }>();
  for (const image of order) {
    const c = choose(platforms(image), nodes, down, emulation);
    if ("why" in c) out.set(image, c);
    else if ("whole" in c) out.set(image, placeWhole(image, platforms(image), give(c.whole)));
    else out.set(image, c.split.map((part) => ({ image, platform: part.platform, node: give(part.nodes).name, native: part.native })));
  }
  return out;
}
