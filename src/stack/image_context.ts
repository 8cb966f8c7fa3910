/**
 * Turn a resolved stack image into its BuildContext and the Dockerfile path to hand the engine
 * (relative to the context, as `docker build -f PATH -` wants it).
 *
 * - A Dockerfile inside the context directory is used where it is.
 * - A Dockerfile outside it, or an inline one, is added as an extra file at `.imgb/Dockerfile`:
 *   extras are never filtered by ignore rules and replace a same-named context file, so the
 *   engine always finds it there. An extra file the stack itself puts at that path is an error.
 * - The ignore file: `image.dockerignore` when given; for a Dockerfile outside the context,
 *   `<Dockerfile>.dockerignore` beside it when it exists (BuildKit's per-Dockerfile rule);
 *   otherwise BuildContext's own lookup in the context root.
 */
import { existsSync, statSync } from "node:fs";
import { relative, sep } from "node:path";
import { InputError } from "../errors.ts";
import type { ResolvedImage } from "./model.ts";
import { placeInside } from "../context/_inside.ts";
import type { BuildContextClass, ImageBuildContext } from "../builder/build_context.ts";
import { EXTRA_DOCKERFILE } from "../dockerfile/parse.ts";
import { BuildContext, type BuildContextOptions } from "../context/build_context.ts";

export { EXTRA_DOCKERFILE };

/** `options` passes through to the context (warnings callback, ignore dialect, mtime). */
export function contextForImage(
  image: ResolvedImage,
  ContextClass: BuildContextClass = BuildContext,
  options: Pick<BuildContextOptions, "onWarning" | "ignoreDialect" | "sourceDateEpoch"> = {},
): { context: ImageBuildContext; dockerfile: string } {
  const root = image.context;
  let inside: string | undefined;
  if (root && image.dockerfile && image.dockerfileInline === undefined) {
    const rel = relative(root, image.dockerfile);
    if (rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep)) {
      // Reached through a symlink: at its real path when that is inside, else sent as an extra
      // (never as an entry below the link, which an engine would extract through it).
      const placed = placeInside(root, rel.split(sep).join("/"));
      if (placed.kind !== "outside") inside = placed.path;
      else if (placed.real === undefined) {
        throw new InputError("context.dockerfile-symlink", `Dockerfile "${image.dockerfile}" is reached through the symlink "${placed.via}" of the context, which leads to no file (dangling or a loop)`, {
          location: { path: `/images/${pointer(image.name)}/dockerfile` },
          hint: "Point `dockerfile` at the file itself",
        });
      }
    }
  }
  const dockerfile = inside ?? EXTRA_DOCKERFILE;

  let ignoreFile: string | undefined = image.dockerignore;
  if (ignoreFile === undefined && inside === undefined && image.dockerfile && existsSync(`${image.dockerfile}.dockerignore`)) {
    ignoreFile = `${image.dockerfile}.dockerignore`;
  }

  const context = new ContextClass({ ...options, root, dockerfile, ...(ignoreFile !== undefined ? { ignoreFile } : {}) });

  if (inside === undefined) {
    if (image.dockerfileInline !== undefined) context.addContent(image.dockerfileInline, EXTRA_DOCKERFILE, 0o644);
    else if (image.dockerfile) context.addFile(image.dockerfile, EXTRA_DOCKERFILE, 0o644);
    else throw new InputError("context.no-dockerfile", `Image "${image.name}" has neither a Dockerfile nor an inline Dockerfile`);
  }

  for (const extra of image.extraFiles) {
    // The stack's key (extra_files are keyed by destination), as the stack loader reports it.
    const where = { path: `/images/${pointer(image.name)}/extra_files/${pointer(extra.destination)}` };
    if (inside === undefined && extra.destination.replace(/^\.\//, "") === EXTRA_DOCKERFILE) {
      throw new InputError("context.extra-collision", `Extra file "${extra.destination}" of image "${image.name}" collides with the Dockerfile imgb places there`, {
        location: where,
        hint: "Choose another destination",
      });
    }
    if (extra.content !== undefined) context.addContent(extra.content, extra.destination, extra.mode ?? 0o644, where);
    else if (extra.source !== undefined) {
      let isDir = false;
      try {
        isDir = statSync(extra.source).isDirectory();
      } catch {
        throw new InputError("context.extra-missing", `Extra file source "${extra.source}" of image "${image.name}" does not exist`, { location: where });
      }
      if (isDir) context.addDirectory(extra.source, extra.destination, where);
      else context.addFile(extra.source, extra.destination, extra.mode, where);
    }
  }
  return { context, dockerfile };
}

/** A JSON pointer segment (RFC 6901), as the stack loader writes its paths. */
const pointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");
