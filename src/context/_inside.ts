/**
 * Where a path named relative to the context root really is, for the Dockerfile and the ignore
 * file: the archive carries symlinks as symlinks, so a file reached through one (`s/Dockerfile`
 * with `s -> elsewhere`) is not at that path in the context. Sending it there would put an entry
 * below a symlink entry, which an extracting engine writes through the link.
 */
import { lstatSync, realpathSync } from "node:fs";
import { join, relative, sep } from "node:path";

export type Placement =
  /** No symlink on the way (or the file does not exist): the path as given. */
  | { kind: "direct"; path: string }
  /** Reached through a symlink that stays inside the root: the real path inside it. */
  | { kind: "resolved"; path: string; via: string }
  /** Reached through a symlink that leads out of the root (or nowhere). */
  | { kind: "outside"; via: string; real?: string };

/** `rel` is clean, relative and does not start with `..` (the caller checked). */
export function placeInside(root: string, rel: string): Placement {
  const parts = rel.split("/");
  let via: string | undefined;
  for (let i = 1; i <= parts.length && via === undefined; i++) {
    const prefix = parts.slice(0, i).join("/");
    try {
      if (lstatSync(join(root, prefix)).isSymbolicLink()) via = prefix;
    } catch {
      break; // missing: nothing further can be a link
    }
  }
  if (via === undefined) return { kind: "direct", path: rel };
  let real: string;
  let realRoot: string;
  try {
    real = realpathSync(join(root, rel));
    realRoot = realpathSync(root);
  } catch {
    return { kind: "outside", via }; // a dangling link: not a file of the context
  }
  const inside = relative(realRoot, real);
  if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || inside.startsWith(sep)) return { kind: "outside", via, real };
  return { kind: "resolved", path: inside.split(sep).join("/"), via };
}
