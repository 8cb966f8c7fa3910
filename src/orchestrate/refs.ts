/**
 * `${images.NAME.ref}`, `${images.NAME.digest}`, `${images.NAME.name}` in build args, resolved
 * once NAME is built: ref is what `imgb build` printed for it (the digest reference when it was
 * pushed), digest its manifest digest (or image ID for a local build), name its repository name.
 */
import { RuntimeError } from "../errors.ts";

const REF = /\$\{images\.([^}.]+)\.(ref|digest|name)\}/g;

/** A built image as `${images.NAME.*}` references it (not an image's content: see the oci flavor). */
export interface BuiltReference {
  ref: string;
  digest?: string;
  imageId?: string;
}

export function resolveImageRefs(args: Readonly<Record<string, string>>, built: (name: string) => BuiltReference | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(args)) {
    out[k] = v.replace(REF, (whole, name: string, field: string) => {
      const b = built(name);
      if (!b) throw new RuntimeError("build.ref-unresolved", `Cannot resolve '${whole}' in build arg '${k}': image '${name}' was not built`);
      if (field === "ref") return b.ref;
      if (field === "name") return name;
      const d = b.digest ?? b.imageId;
      if (!d) throw new RuntimeError("build.ref-unresolved", `Cannot resolve '${whole}' in build arg '${k}': image '${name}' has no digest`);
      return d;
    });
  }
  return out;
}
