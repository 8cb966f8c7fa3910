/**
 * Which parts of a stack a schema error spoils, so that everything else is still checked: one
 * run reports every independent error of a file, and nothing derived from an error already
 * reported (no "Dockerfile not found" for an image whose `dockerfile` value is the error).
 */
import type { InputError } from "../errors.ts";
import { pointerSegments, toPointer } from "./locate.ts";
import type { ImageEntry } from "./schema.ts";

/**
 * The parts of the stack an error is in: `/image_builder` (or only its `/image_builder/config`),
 * `/container_registry`, `/flavors`, `/version`, `/images` (the mapping itself), `/images/NAME`
 * (one image) or `/images/NAME/KEY` (a detachable key). An unknown top-level key breaks nothing else.
 */
export function brokenSections(errors: readonly InputError[]): Set<string> {
  const out = new Set<string>();
  for (const e of errors) {
    const segs = pointerSegments(e.location?.path ?? "");
    if (segs[0] === undefined) continue;
    if (segs[0] === "images" && segs.length > 2 && e.code !== "schema.unknown-key" && DETACHABLE_KEYS.has(segs[2]!)) out.add(toPointer(segs.slice(0, 3)));
    else if (segs[0] === "images") out.add(segs.length > 1 ? toPointer(segs.slice(0, 2)) : "/images");
    // A bad `config` still names a flavor: its other checks (extra flags) go on.
    else if (segs[0] === "image_builder" && segs[1] === "config") out.add("/image_builder/config");
    else if (["image_builder", "container_registry", "flavors", "version", "secrets", "groups"].includes(segs[0])) out.add(`/${segs[0]}`);
  }
  return out;
}

/**
 * Image keys whose invalid value leaves the rest of the image checkable: nothing else is derived
 * from them. An error in `context`, `dockerfile`, `extra_files`… (or an unknown key, which may be a
 * typo of one of those) makes the whole image unchecked instead, since "Dockerfile not found"
 * would only repeat it.
 */
const DETACHABLE_KEYS = new Set(["tags", "labels", "platforms", "build_args", "no_cache", "pull", "network", "target", "extra_flags", "depends_on", "secrets", "ssh"]);
// Registry cache and annotations (issue #13, items 3 and 4): nothing else is derived from them either.
for (const key of ["cache_from", "cache_to", "annotations"]) DETACHABLE_KEYS.add(key);
// Named contexts: resolve.ts checks each one by itself.
DETACHABLE_KEYS.add("contexts");

export function withoutInvalidKeys(image: ImageEntry, name: string, broken: ReadonlySet<string>): ImageEntry {
  const out: Record<string, unknown> = { ...image };
  for (const key of DETACHABLE_KEYS) if (broken.has(toPointer(["images", name, key]))) delete out[key];
  return out as ImageEntry;
}

/** Images with an error that may concern their build context (not one in a detachable key). */
export function imagesWithErrors(errors: readonly InputError[]): Set<string> {
  const out = new Set<string>();
  for (const e of errors) {
    const segs = pointerSegments(e.location?.path ?? "");
    if (segs[0] === "images" && segs[1] !== undefined && !(segs[2] !== undefined && DETACHABLE_KEYS.has(segs[2]))) out.add(segs[1]);
  }
  return out;
}

