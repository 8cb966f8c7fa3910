/**
 * Registry cache and annotations (issue #13, items 3 and 4), per engine: the flags each engine
 * takes, and what each refuses. One list of problems serves both places a refusal is made:
 * `imgb validate` (the flavors' staticCheck, located at the stack key) and the build itself
 * (thrown, for a builder called without validation). Never dropped silently.
 */
import { createHash } from "node:crypto";
import type { BuildOptions, CacheExport } from "../../src/builder/build_options.ts";
import type { StaticImage } from "../../src/builder/flavor.ts";
import { InputError } from "../../src/errors.ts";

export interface PipelineProblem {
  key: "cache_from" | "cache_to" | "annotations";
  /** The entry's index in the list (cache keys); none for the whole key. */
  index?: number;
  code: string;
  message: string;
  hint: string;
}

/** What these checks read, from BuildOptions or a StaticImage. */
export interface PipelineRequest {
  cacheFrom?: readonly string[];
  cacheTo?: readonly CacheExport[];
  annotations?: Readonly<Record<string, string>>;
}

const hasAnnotations = (r: PipelineRequest) => Object.keys(r.annotations ?? {}).length > 0;

/**
 * docker 20.10's `docker build`: BuildKit imports registry cache (`--cache-from`) and exports
 * only inline (`BUILDKIT_INLINE_CACHE=1`); a registry export (`--cache-to`) is buildx with a
 * docker-container builder, which the daemon's built-in BuildKit is not. The classic builder
 * uses `--cache-from` images only when they are in the daemon already and exports nothing.
 * Neither writes manifest annotations.
 */
export function dockerProblems(builder: "buildkit" | "classic", r: PipelineRequest): PipelineProblem[] {
  const out: PipelineProblem[] = [];
  (r.cacheTo ?? []).forEach((c, index) => {
    if (builder === "classic") {
      out.push({ key: "cache_to", index, code: "build.cache-unsupported", message: "The docker flavor's classic builder exports no build cache (cache_to)", hint: "set the flavor's `builder: buildkit` and `cache_to: [type=inline]`, or use the podman or buildah flavor" });
    } else if (c.type === "registry") {
      out.push({
        key: "cache_to",
        index,
        code: "build.cache-unsupported",
        message: `docker 20.10's built-in BuildKit cannot export a registry cache ('${c.ref}'): --cache-to needs docker buildx with a docker-container builder`,
        hint: "use `cache_to: [type=inline]` (the cache rides in the pushed image; list that image in cache_from where you build next), or the podman or buildah flavor, which push a registry cache",
      });
    }
  });
  if (hasAnnotations(r)) {
    out.push({ key: "annotations", code: "build.annotations-unsupported", message: "The docker flavor cannot set manifest annotations: docker 20.10's `docker build` has no --annotation", hint: "use `labels` (on the image config), or the oci, podman or buildah flavor, which annotate the manifest" });
  }
  return out;
}

/** `--cache-from REF…` and, for an inline export, the build arg that asks BuildKit for it. */
export function dockerCacheFlags(builder: "buildkit" | "classic", options: BuildOptions): string[] {
  throwFirst(dockerProblems(builder, options));
  const flags: string[] = [];
  for (const ref of options.cacheFrom ?? []) flags.push("--cache-from", ref);
  if ((options.cacheTo ?? []).some((c) => c.type === "inline")) flags.push("--build-arg", "BUILDKIT_INLINE_CACHE=1");
  return flags;
}

/**
 * podman 4.3 / buildah 1.28: `--cache-from REPO` and `--cache-to REPO` take one repository each
 * (a flag given twice keeps the last), work only with `--layers`, and there is no inline cache.
 * Cache images are stored by the layer's cache key as their tag, so the repository has no tag.
 * `--annotation` lands on the image manifest in OCI format; the Docker format has no place for
 * annotations and the engine drops them without a word.
 */
export function containersProblems(engine: string, layers: boolean, format: "oci" | "docker" | undefined, r: PipelineRequest): PipelineProblem[] {
  const out: PipelineProblem[] = [];
  for (const key of ["cache_from", "cache_to"] as const) {
    const entries: (string | CacheExport)[] = [...((key === "cache_from" ? r.cacheFrom : r.cacheTo) ?? [])];
    entries.forEach((entry, index) => {
      const ref = typeof entry === "string" ? entry : entry.type === "registry" ? entry.ref : undefined;
      const flag = key === "cache_from" ? "--cache-from" : "--cache-to";
      if (ref === undefined) {
        out.push({ key, index, code: "build.cache-unsupported", message: `The ${engine} flavor has no inline cache (cache_to: type=inline is docker BuildKit's)`, hint: "give a repository for the cache, e.g. cache_to: [127.0.0.1:5000/team/app-cache]" });
      } else if (!layers) {
        out.push({ key, index, code: "build.cache-unsupported", message: `${engine} ignores ${flag} without --layers, and the ${engine} flavor's \`layers\` is false`, hint: "set `layers: true` in the flavor's config (the default), or remove the cache key" });
      } else if (index > 0) {
        out.push({ key, index, code: "build.cache-unsupported", message: `${engine} takes one ${flag} repository: this is entry ${index + 1}`, hint: `list one repository in ${key}` });
      } else if (hasTag(ref)) {
        out.push({ key, index, code: "build.cache-unsupported", message: `${engine} names cache images by their cache key: the ${key} repository '${ref}' must have no tag`, hint: `write '${ref.slice(0, ref.lastIndexOf(":"))}'` });
      }
    });
  }
  if (hasAnnotations(r) && format === "docker") {
    out.push({ key: "annotations", code: "build.annotations-unsupported", message: `Annotations need the OCI image format, but this image is built in Docker format: ${engine} would drop them silently`, hint: "set the flavor's `format: oci` (or `auto` without HEALTHCHECK, SHELL or ONBUILD in the Dockerfile), or remove the annotations" });
  }
  return out;
}

/** `--cache-from/--cache-to REPO` and `--annotation K=V` (sorted) for podman and buildah. */
export function containersPipelineFlags(engine: string, layers: boolean, format: "oci" | "docker" | undefined, options: BuildOptions): string[] {
  throwFirst(containersProblems(engine, layers, format, options));
  const flags: string[] = [];
  for (const ref of options.cacheFrom ?? []) flags.push("--cache-from", ref);
  for (const c of options.cacheTo ?? []) if (c.type === "registry") flags.push("--cache-to", c.ref);
  const annotations = options.annotations ?? {};
  const keys = Object.keys(annotations).sort();
  for (const key of keys) flags.push("--annotation", `${key}=${annotations[key]}`);
  // podman 4.3 / buildah 1.28 with --layers take the last step from the cache without looking at
  // --annotation: an image built before without them comes back without them (checked). A label
  // is a build step of its own, so one that names the annotations makes the last step theirs.
  if (keys.length > 0) flags.push("--label", `${ANNOTATIONS_LABEL}=${annotationsDigest(annotations)}`);
  return flags;
}

/** The label that ties a podman/buildah image's last build step to its annotations. */
export const ANNOTATIONS_LABEL = "dev.imgb.annotations";

function annotationsDigest(annotations: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(annotations).sort().map((k) => [k, annotations[k]]);
  return `sha256:${createHash("sha256").update(JSON.stringify(sorted)).digest("hex")}`;
}

/** The flavor `oci` builds no containers and keeps no layer cache: same inputs, same layers. */
export function ociProblems(r: PipelineRequest): PipelineProblem[] {
  const out: PipelineProblem[] = [];
  for (const key of ["cache_from", "cache_to"] as const) {
    const n = ((key === "cache_from" ? r.cacheFrom : r.cacheTo) ?? []).length;
    if (n > 0) out.push({ key, index: 0, code: "build.cache-unsupported", message: `The oci flavor has no build cache to ${key === "cache_from" ? "import" : "export"}: its layers are rebuilt deterministically (same inputs, same digest)`, hint: "remove the key: imgb's own reuse (the checksum) skips an image already built" });
  }
  return out;
}

/** The problems as `imgb validate` reports them: located at the key of the stack file. */
export function locatedProblems(problems: readonly PipelineProblem[], image: StaticImage): InputError[] {
  return problems.map((p) => {
    const path = `/images/${image.name}/${p.key}${p.index === undefined ? "" : `/${p.index}`}`;
    const location = image.stackFile === undefined ? undefined : { file: image.stackFile, path };
    return new InputError(p.code, `${p.message} (image '${image.name}')`, { ...(location ? { location } : {}), hint: p.hint });
  });
}

function throwFirst(problems: readonly PipelineProblem[]): void {
  const p = problems[0];
  if (p) throw new InputError(p.code, p.message, { hint: p.hint });
}

/** A tag after the last path component (a `:` before a `/` is the registry's port). */
function hasTag(ref: string): boolean {
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/");
}
