/**
 * `extra_flags` as a list of argv items: `--flag=value`, or `--flag` and `value` as two items
 * (as they are written for docker compose and in CI files). Joined into `--flag=value`, the one
 * form flavors receive, each with the index of the item it starts at (for error locations).
 */

/** A flag item: `--name` or `--name=value`. */
const FLAG = /^--[a-z][a-z0-9-]*(=[\s\S]*)?$/;

export interface JoinedFlags {
  flags: string[];
  /** For each joined flag, the index of its first item in the list as written. */
  at: number[];
  /** Items that are neither a flag nor the value of the flag before them. */
  strays: { index: number; item: string }[];
}

export function joinFlagValues(items: readonly string[]): JoinedFlags {
  const out: JoinedFlags = { flags: [], at: [], strays: [] };
  items.forEach((item, i) => {
    if (FLAG.test(item)) {
      out.flags.push(item);
      out.at.push(i);
      return;
    }
    const last = out.flags.length - 1;
    // A value belongs to the flag right before it, if that flag has none yet.
    if (last >= 0 && out.at[last] === i - 1 && !out.flags[last]!.includes("=")) out.flags[last] = `${out.flags[last]}=${item}`;
    else out.strays.push({ index: i, item });
  });
  return out;
}
