/**
 * Building the images of a resolved stack with one flavor: one context per image, the flavor's
 * builder, push when the stack has a registry. Library code: it logs through callbacks and
 * throws; the CLI (src/cli/build.ts) prints and exits.
 *
 * Images are built one after the other in stack order (dependency ordering and parallelism come
 * later, by wrapping this, not by flags inside the builders).
 */
import type { BuildReport } from "../builder/base_image_builder.ts";
import { defaultBuildOptions, type BuildOptions } from "../builder/build_options.ts";
import type { Flavor } from "../builder/flavor.ts";
import { contextForImage } from "../context/for_image.ts";
import { ImgbError, InputError, RuntimeError } from "../errors.ts";
import { containerRegistry } from "../stack/credentials.ts";
import type { ResolvedImage, ResolvedStack } from "../stack/model.ts";
import { closest } from "../stack/suggest.ts";

export interface ImageResult {
  image: string;
  /** The digest reference when pushed (`registry/repo@sha256:…`), else the local image name. */
  ref: string;
  digest?: string;
  imageId?: string;
  /** Context checksum, when asked for (`withChecksum`). */
  checksum?: string;
  durationMs: number;
}

export interface RunBuildOptions {
  /** Image names to build; empty: all, in stack order. */
  images: readonly string[];
  signal: AbortSignal;
  /** Where `password_env` is looked up. */
  env: Record<string, string | undefined>;
  /** One line of engine output for `image`. */
  onLog(image: string, line: string): void;
  onWarning?(image: string, message: string): void;
  /** Called as soon as an image is done, so its reference can be printed right away. */
  onResult?(result: ImageResult): void;
  /** Compute each context's checksum (costs a full read of the context). */
  withChecksum?: boolean;
  /** Where the flavor comes from (`builtin` or its source file), named when its code fails. */
  flavorOrigin?: string;
}

export async function runBuild(stack: ResolvedStack, flavor: Flavor, options: RunBuildOptions): Promise<ImageResult[]> {
  const images = selectImages(stack, options.images);
  const registry = stack.containerRegistry ? containerRegistry(stack.containerRegistry, options.env) : undefined;
  const blame = userCode(flavor, options.flavorOrigin);
  const Builder = await blame("loading its implementation", () => flavor.implementation());
  const results: ImageResult[] = [];
  for (const image of images) {
    if (options.signal.aborted) break;
    const facts: BuildReport = {};
    const builder = new Builder(stack.imageBuilder.config, {
      log: (line) => options.onLog(image.name, line),
      signal: options.signal,
      report: (f) => Object.assign(facts, f),
    });
    const started = performance.now();
    const { context } = contextForImage(image, builder.buildContextClass, { onWarning: (m) => options.onWarning?.(image.name, m) });
    const checksum = options.withChecksum ? await context.checksum() : undefined;
    const [first, ...more] = image.tags;
    const ref = await blame(`building '${image.name}'`, () =>
      builder.build(first ? `${image.name}:${first}` : image.name, context, buildOptionsFor(image, context.dockerfile, more), registry),
    );
    const result: ImageResult = { image: image.name, ref, ...facts, durationMs: Math.round(performance.now() - started) };
    if (checksum) result.checksum = checksum;
    results.push(result);
    options.onResult?.(result);
  }
  options.signal.throwIfAborted();
  return results;
}

/**
 * Errors imgb did not make (a TypeError in a user's builder, say) become one RuntimeError that
 * names the flavor and its file, instead of an "internal error" of imgb.
 */
function userCode(flavor: Flavor, origin: string | undefined) {
  return async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      if (e instanceof ImgbError || (e instanceof DOMException && e.name === "AbortError")) throw e;
      const where = origin && origin !== "builtin" ? ` (${origin})` : "";
      throw new RuntimeError("build.flavor-failed", `Flavor '${flavor.name}'${where} failed while ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
}

export function buildOptionsFor(image: ResolvedImage, dockerfile: string, tags: string[]): BuildOptions {
  return defaultBuildOptions({
    dockerfile,
    buildArgs: image.buildArgs,
    target: image.target,
    platforms: image.platforms,
    labels: image.labels,
    tags,
    noCache: image.noCache,
    pull: image.pull,
    network: image.network,
    extraFlags: image.extraFlags,
  });
}

function selectImages(stack: ResolvedStack, names: readonly string[]): ResolvedImage[] {
  const all = Object.values(stack.images);
  if (names.length === 0) return all;
  return names.map((name) => {
    const image = stack.images[name];
    if (image) return image;
    const guess = closest(name, Object.keys(stack.images));
    throw new InputError("build.unknown-image", `Unknown image '${name}' in '${stack.file}'`, {
      hint: guess ? `did you mean '${guess}'?` : `the stack defines: ${Object.keys(stack.images).join(", ")}`,
    });
  });
}
