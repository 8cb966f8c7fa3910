/**
 * Named extra build contexts (`contexts: { NAME: VALUE }`, buildx's and podman's
 * `--build-context NAME=VALUE`), read by `COPY --from=NAME` and `FROM NAME`. A value is a
 * directory relative to the stack file, `docker-image://REF`, or `${images.NAME.ref}`: another
 * image of this stack, built first. Other sources buildx knows (URLs, oci-layout://) are refused,
 * not passed on: imgb builds from the network only through registries.
 */
import { resolve } from "node:path";
import type { NamedContext } from "./model.ts";

export const IMAGE_SCHEME = "docker-image://";
const STACK_IMAGE = /^\$\{images\.([^}.]+)\.ref\}$/;
const OTHER_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export type ContextProblem = { problem: string; hint: string };

/** What a `contexts` value names; `dir` is the stack file's directory. */
export function parseNamedContext(value: string, dir: string): NamedContext | ContextProblem {
  if (value.startsWith(IMAGE_SCHEME)) {
    const ref = value.slice(IMAGE_SCHEME.length);
    if (!ref) return { problem: `Context '${value}' names no image`, hint: "write docker-image://REPOSITORY[:TAG|@DIGEST]" };
    return { type: "image", ref };
  }
  const image = STACK_IMAGE.exec(value);
  if (image) return { type: "stack-image", image: image[1]! };
  if (value.includes("${images.")) return { problem: `Context '${value}' is not an image of this stack: write exactly \${images.NAME.ref}`, hint: "the context is the whole image; use its ref" };
  if (OTHER_SCHEME.test(value) || value.startsWith("git@")) {
    return { problem: `Context '${value}' is not supported: imgb reads named contexts from directories and images only`, hint: "use a directory (relative to the stack file), docker-image://REF or ${images.NAME.ref}" };
  }
  return { type: "dir", path: resolve(dir, value) };
}

/** The stack images a context list needs built first. */
export function contextDependencies(contexts: Readonly<Record<string, NamedContext>> | undefined): string[] {
  return Object.values(contexts ?? {}).flatMap((c) => (c.type === "stack-image" ? [c.image] : []));
}
