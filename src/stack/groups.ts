/**
 * bake's groups: named sets of images, and what the names on the command line (`imgb build
 * GROUP IMAGE…`) select. A group lists images, matrix definitions (every image they made) and
 * other groups; `default` is what a command without names selects.
 */
import { InputError } from "../errors.ts";
import { closest } from "../suggest.ts";
import { toPointer } from "./locate.ts";
import type { ResolvedStack } from "./model.ts";
import type { Locator } from "./schema_errors.ts";

/** The group used when no name is given. */
export const DEFAULT_GROUP = "default";

/** Each group's images, its groups and matrix definitions replaced by their images, in order. */
export function resolveGroups(groups: Record<string, string[]>, images: readonly string[], matrix: Record<string, string[]>, at: Locator, errors: InputError[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const known = [...images, ...Object.keys(matrix), ...Object.keys(groups)];
  for (const name of Object.keys(groups)) {
    if (images.includes(name) || matrix[name]) {
      errors.push(new InputError("stack.group-name", `Group '${name}' has the name of an image of this stack`, { location: at(toPointer(["groups", name]), true), hint: "rename the group: a name on the command line must say which one it means" }));
    }
  }
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (out[name]) return out[name];
    if (trail.includes(name)) {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      errors.push(new InputError("stack.group-cycle", `Group cycle: ${cycle.join(" -> ")}`, { location: at(toPointer(["groups", cycle[0]!]), true), hint: "a group may include another group, but not itself" }));
      return undefined;
    }
    const members: string[] = [];
    groups[name]!.forEach((member, i) => {
      if (images.includes(member)) members.push(member);
      else if (matrix[member]) members.push(...matrix[member]);
      else if (groups[member]) members.push(...(visit(member, [...trail, name]) ?? []));
      else errors.push(new InputError("stack.unknown-image", `Unknown image or group '${member}' in group '${name}'`, { location: at(toPointer(["groups", name, i]), false), hint: suggestion(member, known) }));
    });
    out[name] = [...new Set(members)];
    return out[name];
  };
  for (const name of Object.keys(groups)) visit(name, []);
  // In the file's order, not the order nested groups were resolved in.
  return Object.fromEntries(Object.keys(groups).map((name) => [name, out[name]!]));
}

/**
 * The images the names given on the command line stand for (images, groups, matrix
 * definitions), in order; with none, the `default` group's, else an empty list (every image).
 */
export function selectTargets(stack: ResolvedStack, names: readonly string[]): string[] {
  const groups = stack.groups ?? {};
  const matrix = stack.matrix ?? {};
  if (!names.length) return groups[DEFAULT_GROUP] ?? [];
  const out: string[] = [];
  for (const name of names) {
    if (stack.images[name]) out.push(name);
    else if (groups[name]) out.push(...groups[name]);
    else if (matrix[name]) out.push(...matrix[name]);
    else {
      const known = [...Object.keys(stack.images), ...Object.keys(groups), ...Object.keys(matrix)];
      throw new InputError("build.unknown-image", `Unknown image or group '${name}' in '${stack.file}'`, { hint: suggestion(name, known) });
    }
  }
  return [...new Set(out)];
}

function suggestion(name: string, known: readonly string[]): string {
  const guess = closest(name, known);
  return guess ? `did you mean '${guess}'?` : `the stack defines: ${known.join(", ")}`;
}
