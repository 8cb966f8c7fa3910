/**
 * Which builder node builds what (issue #16): pure decisions, no engine. A node serves a
 * platform natively when it lists it (or lists nothing: an engine that did not say). A task is
 * placed per (image, platform): today every platform of an image goes to one node that serves
 * them all — the seam for splitting a multi-platform image over nodes is `Placement`, one per
 * platform. Native nodes come first, and an emulating node only when no live node serves the
 * platform natively and emulation is allowed; among the candidates the least busy one wins.
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
 * the fewest images so far (the build itself goes by how busy nodes are at the time, so the
 * real spread can differ, never the platforms a node gets). Unplaceable images get `why`.
 */
export function plannedPlacements(order: readonly string[], platforms: (image: string) => readonly string[], nodes: readonly NodeSlot[], down: ReadonlyMap<string, string>, emulation: Emulation): Map<string, Placement[] | { why: string }> {
  const given = new Map<string, number>();
  const out = new Map<string, Placement[] | { why: string }>();
  for (const image of order) {
    const c = candidates(platforms(image), nodes, down, emulation);
    if ("why" in c) {
      out.set(image, c);
      continue;
    }
    const node = pickNode(c.nodes, given, new Map(), Number.POSITIVE_INFINITY)!;
    given.set(node.name, (given.get(node.name) ?? 0) + 1);
    out.set(image, placeWhole(image, platforms(image), node));
  }
  return out;
}
