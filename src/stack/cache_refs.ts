/**
 * The forms `cache_from` and `cache_to` entries take, after BuildKit's `--cache-from/--cache-to`:
 * a plain reference (`REPO` or `REPO:TAG`, meaning type=registry), `type=registry,ref=REF`, and
 * for `cache_to` only `type=inline` (the cache metadata goes into the pushed image). References
 * are checked with the one reference parser (src/image/name.ts). Which engine takes which form
 * is the flavors' business (their staticCheck refuses the rest).
 */
import type { CacheExport } from "../builder/build_options.ts";
import { InputError } from "../errors.ts";
import { parseReference } from "../image/name.ts";

export type CacheDirection = "cache_from" | "cache_to";

/** The entry as a registry ref or inline, or why it is not one of the forms. */
export function parseCacheEntry(text: string, direction: CacheDirection): { value: CacheExport } | { problem: string; hint: string } {
  const forms = direction === "cache_to" ? "REF, type=registry,ref=REF or type=inline" : "REF or type=registry,ref=REF";
  let ref = text;
  // A reference never holds "=": any KEY=VALUE list is the BuildKit form, keys in any order.
  if (text.includes("=")) {
    const fields = new Map<string, string>();
    for (const part of text.split(",")) {
      const eq = part.indexOf("=");
      const key = eq < 0 ? part : part.slice(0, eq);
      if (eq < 0 || fields.has(key)) return { problem: `Invalid ${direction} entry ${JSON.stringify(text)}: ${eq < 0 ? `'${part}' is not KEY=VALUE` : `'${key}' is given twice`}`, hint: `expected ${forms}` };
      fields.set(key, part.slice(eq + 1));
    }
    const type = fields.get("type");
    const unknown = [...fields.keys()].filter((k) => k !== "type" && k !== "ref");
    if (type === "inline" && direction === "cache_to" && fields.size === 1) return { value: { type: "inline" } };
    if (type === undefined) {
      // `cache_to: [type=registry,ref=X]` is a YAML flow list of two entries: the comma split it.
      return { problem: `Invalid ${direction} entry ${JSON.stringify(text)}: no type=`, hint: `expected ${forms}; in a [ … ] list, quote an entry that holds commas: ["type=registry,ref=REF"]` };
    }
    if (type !== "registry" || unknown.length > 0 || !fields.get("ref")) {
      const why = type !== "registry" && type !== "inline" ? `unknown cache type '${type}'` : type === "inline" ? (direction === "cache_from" ? "an inline cache is read from the image itself: list the image's reference" : "type=inline takes no other keys") : unknown.length > 0 ? `unknown key '${unknown[0]}'` : "type=registry needs ref=REF";
      return { problem: `Invalid ${direction} entry ${JSON.stringify(text)}: ${why}`, hint: `expected ${forms}` };
    }
    ref = fields.get("ref")!;
  }
  try {
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined) return { problem: `Invalid ${direction} reference ${JSON.stringify(ref)}: a cache is named by a repository or tag, not a digest`, hint: "write REPO or REPO:TAG" };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { problem: e.message, hint: `expected ${forms}, with REF a lower-case registry reference such as 127.0.0.1:5000/team/app-cache` };
  }
  return { value: { type: "registry", ref } };
}
