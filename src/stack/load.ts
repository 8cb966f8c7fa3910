/**
 * Loading a stack file: read -> parse YAML (positions kept) -> interpolate environment
 * variables -> validate against the stack schema -> validate the builder's config against its
 * flavor's schema -> resolve paths and references. Every problem of the file is collected and
 * thrown at once as InputErrors (capped), each with file:line:col and JSON path.
 */
import { dirname, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import type { Document, LineCounter } from "yaml";
import { InputError, InputErrors, type Location } from "../errors.ts";
import type { Flavor } from "../builder/flavor.ts";
import { FlavorRegistry } from "../registry/flavor_registry.ts";
import { interpolateDocument } from "./interpolate_doc.ts";
import { locate, pointerSegments, toPointer } from "./locate.ts";
import type { ResolvedStack } from "./model.ts";
import { checkContexts } from "./check_contexts.ts";
import { checkFileModes } from "./file_mode.ts";
import { applyOverrides, parseOverride, type AppliedOverride } from "./overrides.ts";
import { parseStack, readStackText, toValue } from "./parse.ts";
import { resolveStack } from "./resolve.ts";
import { StackSchema, type ImageEntry, type StackFile } from "./schema.ts";
import { schemaErrors, type Locator } from "./schema_errors.ts";
import { closest } from "./suggest.ts";

/** At most this many errors are reported for one file. */
export const MAX_ERRORS = 20;

export interface LoadOptions {
  env: Record<string, string | undefined>;
  cwd: string;
  /** Flavors to resolve `image_builder.flavor` against. Default: the built-ins. */
  registry?: FlavorRegistry;
  /**
   * Loads the custom flavor sources a stack lists under `flavors:` into the registry. Given by
   * the caller (the CLI), so that this module never imports user code by itself.
   */
  /** `--set IMAGE.KEY=VALUE` overrides, applied before validation. */
  set?: readonly string[];
  /** Keys merged into `image_builder.config` before validation (e.g. `--output` -> `output`). */
  builderConfig?: Record<string, unknown>;
  loadFlavorSources?: (paths: string[], registry: FlavorRegistry, where: (index: number) => Location) => Promise<void>;
}

export const DEFAULT_STACK_FILE = "imgb.yaml";
/** The flavor name that means "pick one at build time" (also what a stack without image_builder gets). */
export const AUTO_FLAVOR = "auto";

export async function loadStack(path: string | undefined, options: LoadOptions): Promise<ResolvedStack> {
  const file = resolve(options.cwd, path ?? DEFAULT_STACK_FILE);
  const text = await readStackText(file);
  const errors: InputError[] = [];
  let overrides: readonly AppliedOverride[] = [];
  const fail = () => {
    const located = errors.map((e) => atOverride(e, overrides));
    // --set errors (no line) first, then the file's in source order.
    const ordered = located.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0));
    throw new InputErrors(ordered.slice(0, MAX_ERRORS), ordered.length);
  };

  const parsed = parseStack(file, text, errors);
  if (!parsed) return fail();
  interpolateDocument(parsed.doc, parsed.lines, file, options.env, errors);
  const value = toValue(parsed, errors);
  if (errors.some((e) => e.code.startsWith("yaml."))) return fail();

  const at = locatorFor(parsed.doc, parsed.lines, file);
  const parsedOverrides = (options.set ?? []).map(parseOverride);
  overrides = applyOverrides(value, parsedOverrides);
  if (options.builderConfig && typeof value === "object" && value !== null) {
    const builder = (value as { image_builder?: { config?: Record<string, unknown> } }).image_builder;
    if (builder && typeof builder === "object") builder.config = { ...(builder.config ?? {}), ...options.builderConfig };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    errors.push(new InputError("stack.not-mapping", "Stack file must be a mapping with 'image_builder' and 'images'", {
      location: at("", false),
      hint: "see imgb schema, or examples/ in the imgb repository",
    }));
    return fail();
  }
  checkFileModes(value, parsed.doc, at, errors);
  // Keep going after interpolation and mode errors, but do not also report the values they left.
  const reported = new Set(errors.map((e) => e.location?.path));
  const invalid = schemaErrors(StackSchema, value, at);
  errors.push(...invalid.filter((e) => !reported.has(e.location?.path)));

  // Every section the schema found no fault in is checked further, so that one run reports
  // every independent error of the file: a schema error in one image hides nothing of another.
  const broken = brokenSections(invalid);
  const stack = value as StackFile;
  if (broken.has("/images") || typeof stack.images !== "object" || stack.images === null) return fail();
  const registry = options.registry ?? FlavorRegistry.withBuiltins();
  if (stack.flavors?.length && options.loadFlavorSources && !broken.has("/flavors")) {
    const dir = dirname(file);
    await options.loadFlavorSources(stack.flavors.map((p) => resolve(dir, p)), registry, (i) => at(toPointer(["flavors", i]), false));
  }
  const builderOk = !broken.has("/image_builder");
  const flavorName = (builderOk ? stack.image_builder?.flavor : undefined) ?? AUTO_FLAVOR;
  let config: Record<string, unknown> | undefined = {};
  if (!builderOk) {
    config = undefined;
  } else if (flavorName === AUTO_FLAVOR) {
    checkAutoFlavor(stack, at, errors);
  } else {
    try {
      await registry.load(flavorName, at("/image_builder/flavor", false));
      config = checkFlavorConfig(flavorName, stack.image_builder?.config ?? {}, registry, at, errors);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      errors.push(e);
      config = undefined;
    }
  }
  const names = Object.keys(stack.images);
  const validImages = Object.fromEntries(Object.entries(stack.images).filter(([name]) => !broken.has(toPointer(["images", name]))).map(([name, image]) => [name, withoutInvalidKeys(image, name, broken)]));
  const sound: StackFile = { ...stack, images: validImages };
  if (broken.has("/container_registry")) delete sound.container_registry;
  const resolved = resolveStack(sound, file, dirname(file), flavorName, config ?? {}, at, errors, names);
  checkContexts(resolved, imagesWithErrors(errors), at, errors);
  const flavor = builderOk && flavorName !== AUTO_FLAVOR ? registry.get(flavorName)?.flavor : undefined;
  if (flavor) checkExtraFlags(resolved, flavor, errors, at);
  if (flavor && config) checkOutput(resolved, flavor, config, broken.has("/container_registry"), at, errors);
  if (errors.length) return fail();
  return resolved;
}

/**
 * The parts of the stack an error is in: `/image_builder`, `/container_registry`, `/flavors`,
 * `/version`, `/images` (the mapping itself) or `/images/NAME` (one image). An unknown
 * top-level key breaks nothing else.
 */
function brokenSections(errors: readonly InputError[]): Set<string> {
  const out = new Set<string>();
  for (const e of errors) {
    const segs = pointerSegments(e.location?.path ?? "");
    if (segs[0] === undefined) continue;
    if (segs[0] === "images" && segs.length > 2 && e.code !== "schema.unknown-key" && DETACHABLE_KEYS.has(segs[2]!)) out.add(toPointer(segs.slice(0, 3)));
    else if (segs[0] === "images") out.add(segs.length > 1 ? toPointer(segs.slice(0, 2)) : "/images");
    else if (["image_builder", "container_registry", "flavors", "version"].includes(segs[0])) out.add(`/${segs[0]}`);
  }
  return out;
}

/**
 * Image keys whose invalid value leaves the rest of the image checkable: nothing else is derived
 * from them. An error in `context`, `dockerfile`, `extra_files`… (or an unknown key, which may be a
 * typo of one of those) makes the whole image unchecked instead, since "Dockerfile not found"
 * would only repeat it.
 */
const DETACHABLE_KEYS = new Set(["tags", "labels", "platforms", "build_args", "no_cache", "pull", "network", "target", "extra_flags", "depends_on"]);

function withoutInvalidKeys(image: ImageEntry, name: string, broken: ReadonlySet<string>): ImageEntry {
  const out: Record<string, unknown> = { ...image };
  for (const key of DETACHABLE_KEYS) if (broken.has(toPointer(["images", name, key]))) delete out[key];
  return out as ImageEntry;
}

function imagesWithErrors(errors: readonly InputError[]): Set<string> {
  const out = new Set<string>();
  for (const e of errors) {
    const segs = pointerSegments(e.location?.path ?? "");
    if (segs[0] === "images" && segs[1] !== undefined && !(segs[2] !== undefined && DETACHABLE_KEYS.has(segs[2]))) out.add(segs[1]);
  }
  return out;
}

/** Flavor `auto` picks its engine at build time: it takes no config, and no engine-specific flags. */
function checkAutoFlavor(stack: StackFile, at: Locator, errors: InputError[]): void {
  if (stack.image_builder?.config && Object.keys(stack.image_builder.config).length) {
    errors.push(new InputError("stack.auto-config", "Flavor 'auto' takes no config: the flavor it picks uses its defaults", {
      location: at("/image_builder/config", true),
      hint: "name the flavor to configure it, e.g. flavor: docker",
    }));
  }
  for (const [name, image] of Object.entries(stack.images)) {
    if (!image.extra_flags?.length) continue;
    errors.push(new InputError("stack.auto-extra-flags", `Image '${name}' has extra_flags, but flavor 'auto' does not say which engine gets them`, {
      location: at(toPointer(["images", name, "extra_flags"]), true),
      hint: "extra flags are engine-specific: name the flavor (image_builder: { flavor: docker })",
    }));
  }
}

/**
 * The `oci` flavor writes to a registry unless its `output` says otherwise: with neither a
 * container_registry nor an output, every build would fail at its end, so validation says it.
 */
function checkOutput(stack: ResolvedStack, flavor: Flavor, config: Record<string, unknown>, registryBroken: boolean, at: Locator, errors: InputError[]): void {
  if (flavor.name !== "oci" || config.output !== "registry" || stack.containerRegistry || registryBroken) return;
  errors.push(new InputError("stack.no-output", "Flavor 'oci' has nowhere to put the images: no container_registry and no output", {
    location: at("/image_builder/flavor", false),
    hint: "add container_registry: { uri: HOST[:PORT] }, or set config.output (oci-layout:DIR or docker-archive:FILE; --output on the command line)",
  }));
}

/** An error about a value a `--set` argument gave points at that argument, not at the file. */
function atOverride(e: InputError, overrides: readonly AppliedOverride[]): InputError {
  const path = e.location?.path;
  if (path === undefined || e instanceof InputErrors) return e;
  const o = overrides.find((x) => x.pointers.some((p) => path === p || path.startsWith(`${p}/`)));
  if (!o) return e;
  return new InputError(e.code, `--set '${o.override.raw}': ${e.message}`, { location: { path }, hint: e.hint });
}

/** Validates `image_builder.config` against the flavor's schema; returns it with defaults filled in. */
function checkFlavorConfig(name: string, config: unknown, registry: FlavorRegistry, at: Locator, errors: InputError[]): Record<string, unknown> | undefined {
  const entry = registry.get(name);
  if (!entry) {
    const guess = closest(name, registry.names());
    errors.push(new InputError("stack.unknown-flavor", `Unknown flavor '${name}'`, {
      location: at("/image_builder/flavor", false),
      hint: guess ? `did you mean '${guess}'?` : `known flavors: ${registry.names().join(", ")}; register your own with 'imgb flavor register PATH'`,
    }));
    return undefined;
  }
  return checkConfig(entry.flavor, config, at, "/image_builder/config", errors);
}

export function checkConfig(flavor: Flavor, config: unknown, at: Locator, prefix: string, errors: InputError[]): Record<string, unknown> | undefined {
  const withDefaults = Value.Default(flavor.config, Value.Clone(config));
  const problems = schemaErrors(flavor.config, withDefaults, at, prefix);
  if (problems.length) {
    errors.push(...problems);
    return undefined;
  }
  return withDefaults as Record<string, unknown>;
}

/** `extra_flags` is an escape hatch, but only for flags the flavor declares it can pass on. */
export function checkExtraFlags(stack: ResolvedStack, flavor: Flavor, errors: InputError[], at: Locator = (path) => ({ file: stack.file, path })): void {
  const allowed = new Set(flavor.extraFlags ?? []);
  for (const image of Object.values(stack.images)) {
    image.extraFlags.forEach((flag, i) => {
      const name = flag.split("=")[0]!;
      if (allowed.has(name)) return;
      const guess = closest(name, allowed);
      errors.push(new InputError("stack.extra-flag", `Flavor '${flavor.name}' does not accept the extra flag '${name}'`, {
        location: at(toPointer(["images", image.name, "extra_flags", i]), false),
        hint: guess ? `did you mean '${guess}'?` : allowed.size ? `accepted: ${[...allowed].join(" ")}` : `flavor '${flavor.name}' accepts no extra flags`,
      }));
    });
  }
}

function locatorFor(doc: Document, lines: LineCounter, file: string): Locator {
  return (pointer, key) => locate(doc, lines, file, pointer, { key });
}
