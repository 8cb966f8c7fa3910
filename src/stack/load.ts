/**
 * Loading a stack file: read -> parse YAML (positions kept, merge keys applied) -> interpolate
 * environment variables -> expand inherits and matrix -> drop x-* keys, read booleans and numbers
 * from strings -> validate against the stack schema -> validate the builder's config against its
 * flavor's schema -> resolve paths and references. Every problem of the file is collected and
 * thrown at once as InputErrors (capped), each with file:line:col and JSON path.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import type { Document, LineCounter } from "yaml";
import { InputError, InputErrors, UsageError, type Location } from "../errors.ts";
import type { Flavor } from "../builder/flavor.ts";
import { checkDockerfileStarts } from "./dockerfile_start.ts";
import { FlavorCatalog } from "../catalog/catalog.ts";
import { configProblems } from "../catalog/validate_config.ts";
import { checkFsEntitlements, NO_EXTRA_ACCESS, type FsAllow } from "./entitlements.ts";
import { interpolateDocument } from "./interpolate_doc.ts";
import { locate, toPointer } from "./locate.ts";
import type { ResolvedStack } from "./model.ts";
import { checkAutoFlavor, checkNamedContexts, checkOutput } from "./builder_checks.ts";
import { checkContexts } from "./check_contexts.ts";
import { checkFileModes } from "./file_mode.ts";
import { applyOverrides, parseOverride, type AppliedOverride, type Override } from "./overrides.ts";
import { expandImages } from "./expand.ts";
import { resolveGroups } from "./groups.ts";
import { normalizeForSchema } from "./normalize.ts";
import { joinFlagValues } from "./extra_flags.ts";
import { parseStack, readStackText, toValue } from "./parse.ts";
import { resolveStack } from "./resolve.ts";
import { configSchemaWithNodes, resolveNodes } from "./nodes.ts";
import { brokenSections, imagesWithErrors, withoutInvalidKeys } from "./sections.ts";
import { StackSchema, type StackFile } from "./schema.ts";
import { schemaErrors, type Locator } from "./schema_errors.ts";
import { closest } from "../suggest.ts";

/** At most this many errors are reported for one file. */
export const MAX_ERRORS = 20;

export interface LoadOptions {
  env: Record<string, string | undefined>;
  cwd: string;
  /** Flavors to resolve `image_builder.flavor` against. Default: the built-ins. */
  catalog?: FlavorCatalog;
  /**
   * Loads the custom flavor sources a stack lists under `flavors:` into the catalog. Given by
   * the caller (the CLI), so that this module never imports user code by itself.
   */
  /** Paths outside the stack file's directory it may read (`--allow fs.read=PATH`). Default: none. */
  allow?: FsAllow;
  /** `--set IMAGE.KEY=VALUE` overrides, applied before validation. */
  set?: readonly string[];
  /** Keys merged into `image_builder.config` before validation (e.g. `--output` -> `output`). */
  builderConfig?: Record<string, unknown>;
  loadFlavorSources?: (paths: string[], catalog: FlavorCatalog, where: (index: number) => Location) => Promise<void>;
}

export const DEFAULT_STACK_FILE = "imgb.yaml";
/** Also found without -f, as compose finds compose.yml beside compose.yaml. */
export const ALTERNATE_STACK_FILE = "imgb.yml";
/** The flavor name that means "pick one at build time" (also what a stack without image_builder gets). */
export const AUTO_FLAVOR = "auto";

export async function loadStack(path: string | undefined, options: LoadOptions): Promise<ResolvedStack> {
  const file = path === undefined ? defaultStackFile(options.cwd) : resolve(options.cwd, path);
  const text = await readStackText(file);
  const errors: InputError[] = [];
  let overrides: readonly AppliedOverride[] = [];
  const fail = () => {
    const located = onePerPlace(errors.map((e) => atOverride(e, overrides)));
    // --set errors (no line) first, then the file's in source order.
    const ordered = located.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0));
    throw new InputErrors(ordered.slice(0, MAX_ERRORS), ordered.length);
  };

  const parsed = parseStack(file, text, errors);
  if (!parsed) return fail();
  const literalRefLines = new Set<string>();
  interpolateDocument(parsed.doc, parsed.lines, file, options.env, errors, literalRefLines);
  const raw = toValue(parsed, errors);
  if (errors.some((e) => e.code.startsWith("yaml."))) return fail();

  const atSource = locatorFor(parsed.doc, parsed.lines, file);
  const parsedOverrides = (options.set ?? []).map(parseOverride);
  refuseDefinitionOverrides(parsedOverrides);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    errors.push(new InputError("stack.not-mapping", "Stack file must be a mapping with 'image_builder' and 'images'", {
      location: atSource("", false),
      hint: "see imgb schema, or examples/ in the imgb repository",
    }));
    return fail();
  }
  checkFileModes(raw, parsed.doc, atSource, errors);
  // inherits and matrix first: overrides, defaults and checks then see the images as they are built.
  const before = errors.length;
  const expansion = expandImages(raw as Record<string, unknown>, atSource, errors);
  // A definition that could not be expanded leaves no images: checking on would only report their absence.
  if (errors.length > before) return fail();
  const value = expansion.value;
  const at: Locator = (pointer, key) => ({ ...atSource(expansion.sourceOf(pointer), key), path: pointer });
  overrides = applyOverrides(value, parsedOverrides);
  if (options.builderConfig) {
    const builder = (value as { image_builder?: { config?: Record<string, unknown> } }).image_builder;
    if (builder && typeof builder === "object") builder.config = { ...(builder.config ?? {}), ...options.builderConfig };
  }
  normalizeForSchema(StackSchema, value);
  // Keep going after interpolation and mode errors, but do not also report the values they left.
  const reported = new Set(errors.map((e) => e.location?.path));
  const invalid = schemaErrors(StackSchema, value, at);
  errors.push(...invalid.filter((e) => !reported.has(e.location?.path)));

  // Every section the schema found no fault in is checked further, so that one run reports
  // every independent error of the file: a schema error in one image hides nothing of another.
  const broken = brokenSections(invalid);
  const stack = value as StackFile;
  if (broken.has("/images") || typeof stack.images !== "object" || stack.images === null) return fail();
  const names = Object.keys(stack.images);
  const validImages = Object.fromEntries(Object.entries(stack.images).filter(([name]) => !broken.has(toPointer(["images", name]))).map(([name, image]) => [name, withoutInvalidKeys(image, name, broken)]));
  const sound: StackFile = { ...stack, images: validImages };
  if (broken.has("/container_registry")) delete sound.container_registry;
  if (broken.has("/flavors")) delete sound.flavors;
  if (broken.has("/secrets")) delete sound.secrets;
  // Before anything is read or a flavor file imported: paths outside need the command line's word.
  const denied = checkFsEntitlements(sound, file, options.allow ?? NO_EXTRA_ACCESS, at);
  if (denied.length) {
    errors.push(...denied);
    return fail();
  }
  const catalog = options.catalog ?? FlavorCatalog.withBuiltins();
  if (stack.flavors?.length && options.loadFlavorSources && !broken.has("/flavors")) {
    const dir = dirname(file);
    await options.loadFlavorSources(stack.flavors.map((p) => resolve(dir, p)), catalog, (i) => at(toPointer(["flavors", i]), false));
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
      await catalog.load(flavorName, at("/image_builder/flavor", false));
      // A config the stack schema already refused (not a mapping) is not checked a second time.
      config = checkFlavorConfig(flavorName, broken.has("/image_builder/config") ? undefined : stack.image_builder?.config ?? {}, catalog, at, errors);
      // The flavor's own checks of a config its schema accepted (Flavor.validate).
      const entry = catalog.get(flavorName);
      if (config && entry) errors.push(...(await configProblems(entry.flavor, config, (p) => at(p, false), "/image_builder/config", entry.origin)));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      errors.push(e);
      config = undefined;
    }
  }
  const resolved = resolveStack(sound, file, dirname(file), flavorName, config ?? {}, at, errors, names, literalRefLines);
  if (Object.keys(expansion.matrix).length) resolved.matrix = expansion.matrix;
  if (stack.groups && !broken.has("/groups")) resolved.groups = resolveGroups(stack.groups, names, expansion.matrix, at, errors);
  checkContexts(resolved, imagesWithErrors(errors), at, errors);
  if (builderOk) checkNamedContexts(resolved, flavorName, config, at, errors);
  const flavor = builderOk && flavorName !== AUTO_FLAVOR ? catalog.get(flavorName)?.flavor : undefined;
  if (flavor && config) resolveNodes(resolved, flavor, at, errors);
  if (flavor) checkExtraFlags(resolved, flavor, errors, at, (image, i) => joinFlagValues(sound.images[image]?.extra_flags ?? []).at[i] ?? i);
  if (flavor && config) checkOutput(resolved, flavor, config, broken.has("/container_registry"), at, errors);
  if (!errors.length) errors.push(...checkDockerfileStarts(resolved, at));
  if (errors.length) return fail();
  return resolved;
}

/**
 * A value that images inherit, or that a matrix copies, is written once: one mistake in it is
 * reported once, for the first image, not once per image that took it.
 */
function onePerPlace(errors: readonly InputError[]): InputError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const l = e.location;
    if (l?.line === undefined) return true;
    const id = `${l.line}:${l.col}|${e.code}|${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
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
function checkFlavorConfig(name: string, config: unknown, catalog: FlavorCatalog, at: Locator, errors: InputError[]): Record<string, unknown> | undefined {
  const entry = catalog.get(name);
  if (!entry) {
    const guess = closest(name, catalog.names());
    errors.push(new InputError("stack.unknown-flavor", `Unknown flavor '${name}'`, {
      location: at("/image_builder/flavor", false),
      hint: guess ? `did you mean '${guess}'?` : `known flavors: ${catalog.names().join(", ")}; register your own with 'imgb flavor register PATH'`,
    }));
    return undefined;
  }
  return config === undefined ? undefined : checkConfig(entry.flavor, config, at, "/image_builder/config", errors);
}

export function checkConfig(flavor: Flavor, config: unknown, at: Locator, prefix: string, errors: InputError[]): Record<string, unknown> | undefined {
  const schema = configSchemaWithNodes(flavor);
  const withDefaults = Value.Default(schema, normalizeForSchema(schema, Value.Clone(config)));
  const problems = schemaErrors(schema, withDefaults, at, prefix);
  if (problems.length) {
    errors.push(...problems);
    return undefined;
  }
  return withDefaults as Record<string, unknown>;
}

/**
 * `extra_flags` is an escape hatch, but only for flags the flavor declares it can pass on.
 * `sourceIndex` maps a joined flag (`--flag value` written as two items) to its item in the file.
 */
export function checkExtraFlags(stack: ResolvedStack, flavor: Flavor, errors: InputError[], at: Locator = (path) => ({ file: stack.file, path }), sourceIndex: (image: string, i: number) => number = (_, i) => i): void {
  const allowed = new Set(flavor.extraFlags ?? []);
  const accepted = allowed.size ? `accepted: ${[...allowed].join(" ")}` : `flavor '${flavor.name}' accepts no extra flags`;
  for (const image of Object.values(stack.images)) {
    image.extraFlags.forEach((flag, i) => {
      const name = flag.split("=")[0]!;
      if (allowed.has(name)) return;
      const guess = closest(name, allowed);
      errors.push(new InputError("stack.extra-flag", `Flavor '${flavor.name}' does not accept the extra flag '${name}'`, {
        location: at(toPointer(["images", image.name, "extra_flags", sourceIndex(image.name, i)]), false),
        hint: guess ? `did you mean '${guess}'? (${accepted})` : accepted,
      }));
    });
  }
}

/**
 * `imgb.yaml`, else `imgb.yml`, in `cwd`. Both at once is an error rather than a silent pick:
 * editing the one imgb does not read would change nothing.
 */
function defaultStackFile(cwd: string): string {
  const [yaml, yml] = [DEFAULT_STACK_FILE, ALTERNATE_STACK_FILE].map((name) => resolve(cwd, name)) as [string, string];
  const hasYml = existsSync(yml);
  if (hasYml && existsSync(yaml)) {
    throw new InputError("stack.ambiguous-file", `Both '${yaml}' and '${yml}' exist: imgb does not guess which stack to use`, {
      hint: `remove or rename one, or pass the stack file with -f ${DEFAULT_STACK_FILE}`,
    });
  }
  return hasYml ? yml : yaml;
}

/** `--set` works on images as they are built: their definition keys are already used up. */
function refuseDefinitionOverrides(overrides: readonly Override[]): void {
  for (const o of overrides) {
    if (!["inherits", "matrix", "name"].includes(o.key)) continue;
    throw new UsageError("cli.bad-set", `Invalid --set '${o.raw}': '${o.key}' says how the stack file's images are made, and --set applies to the images made`, {
      hint: "edit the stack file, or set the keys of the images themselves (imgb print --no-plan lists them)",
    });
  }
}

function locatorFor(doc: Document, lines: LineCounter, file: string): Locator {
  return (pointer, key) => locate(doc, lines, file, pointer, { key });
}
