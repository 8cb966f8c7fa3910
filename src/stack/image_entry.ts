/**
 * An image entry's plain fields as a ResolvedImage: the keys the stack file leaves out take the
 * `default`s of ImageSchema, the one place they are written, so the stack resolver and
 * `imgb context DIR` (an image with no entry at all) cannot drift apart. Paths, extra files and
 * references are resolve.ts's job.
 */
import { Value } from "@sinclair/typebox/value";
import type { ResolvedImage } from "./model.ts";
import { ImageSchema, type ImageEntry } from "./schema.ts";
import { joinFlagValues } from "./extra_flags.ts";

export function imageFromEntry(name: string, entry: ImageEntry): ResolvedImage {
  const e = Value.Default(ImageSchema, Value.Clone(entry)) as ImageEntry;
  const image: ResolvedImage = {
    name,
    buildArgs: stringMap(e.build_args),
    platforms: e.platforms!,
    labels: stringMap(e.labels),
    tags: e.tags!,
    extraFiles: [],
    dependsOn: e.depends_on!,
    noCache: e.no_cache!,
    pull: e.pull!,
    // `--flag value` as two items becomes `--flag=value`; a stray item is resolve.ts's error.
    extraFlags: joinFlagValues(e.extra_flags!).flags,
    // cache_from/cache_to are parsed (and located when wrong) by resolve.ts.
    cacheFrom: [],
    cacheTo: [],
    annotations: stringMap(e.annotations),
    // Paths and the stack's default secrets are resolve.ts's job; ids and env names are plain.
    secrets: [],
    ssh: [],
  };
  if (e.target !== undefined) image.target = e.target;
  if (e.network !== undefined) image.network = e.network;
  return image;
}

function stringMap(m: Record<string, string | number | boolean> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}
