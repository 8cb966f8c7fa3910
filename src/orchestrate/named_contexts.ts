/**
 * An image's named build contexts (`contexts:`) as the builder gets them, and what the checksum
 * keeps of them: a directory's files (its path is this machine's), an image's reference — for
 * another image of the stack, its digest once built, so rebuilding it rebuilds this one.
 */
import type { NamedBuildContext } from "../builder/build_options.ts";
import { BuildContext } from "../context/build_context.ts";
import { RuntimeError } from "../errors.ts";
import type { ResolvedImage } from "../stack/model.ts";
import { contextDigest, type FileHashCache } from "./context_digest.ts";
import type { BuiltReference } from "./refs.ts";

export interface NamedContexts {
  contexts: NamedBuildContext[];
  /** Name -> what the checksum keeps of it. */
  digests: Record<string, string>;
}

export async function namedContexts(image: ResolvedImage, built: (name: string) => BuiltReference | undefined, hashes: FileHashCache | undefined, signal: AbortSignal): Promise<NamedContexts> {
  const out: NamedContexts = { contexts: [], digests: {} };
  for (const name of Object.keys(image.contexts ?? {}).sort()) {
    const c = image.contexts![name]!;
    if (c.type === "dir") {
      // Every file: no ignore file applies to a named context (none is sent for it).
      const entries = await new BuildContext({ root: c.path, ignoreFile: null }).fileList();
      out.contexts.push({ name, directory: c.path });
      out.digests[name] = `dir:${await contextDigest(entries, { cache: hashes, signal })}`;
    } else if (c.type === "image") {
      out.contexts.push({ name, image: c.ref });
      out.digests[name] = `image:${c.ref}`;
    } else {
      const b = built(c.image);
      if (!b) throw new RuntimeError("build.ref-unresolved", `Cannot resolve the context '${name}' of image '${image.name}': image '${c.image}' was not built`);
      out.contexts.push({ name, image: b.ref });
      out.digests[name] = `image:${b.digest ?? b.imageId ?? b.ref}`;
    }
  }
  return out;
}
