/**
 * From a schema-valid stack value to the ResolvedStack: paths made absolute and checked,
 * references between images checked (names, cycles), defaults filled in.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, posix, resolve } from "node:path";
import { contextDestination } from "../context/destination.ts";
import { isLoopback, registryHost } from "../image/name.ts";
import { InputError } from "../errors.ts";
import type { ExtraFile, ResolvedImage, ResolvedRegistry, ResolvedStack } from "./model.ts";
import type { Locator } from "./schema_errors.ts";
import type { ImageEntry, StackFile } from "./schema.ts";
import { imageFromEntry } from "./image_entry.ts";
import { parseCacheEntry } from "./cache_refs.ts";
import { resolveSecrets, resolveSsh } from "./build_mounts.ts";
import { closest } from "../suggest.ts";
import { contextDependencies, parseNamedContext } from "./named_contexts.ts";
import { joinFlagValues } from "./extra_flags.ts";
import { toPointer } from "./locate.ts";
import { MAX_NAME_LENGTH, registryUriProblem } from "./names.ts";

const IMAGE_REF = /\$\{images\.([^}.]+)\.(ref|digest|name)\}/g;
/** Every `${images.…}` a value holds, well-formed or not (interpolation leaves them all in place). */
const ANY_IMAGE_REF = /\$\{images\.([^}]*)\}/g;
const IMAGE_REF_FIELDS = ["ref", "digest", "name"];

export function resolveStack(
  value: StackFile,
  file: string,
  dir: string,
  flavor: string,
  flavorConfig: Record<string, unknown>,
  at: Locator,
  errors: InputError[],
  /** All image names of the file, when `value.images` holds only the schema-valid ones. */
  names: string[] = Object.keys(value.images),
  /** `file:line` of values that write `$${images.…}`: literal text (interpolate_doc.ts). */
  literalRefLines: ReadonlySet<string> = new Set(),
): ResolvedStack {
  const images: Record<string, ResolvedImage> = {};
  for (const [name, entry] of Object.entries(value.images)) {
    images[name] = resolveImage(name, entry, dir, names, at, errors, literalRefLines);
    resolveBuildMounts(images[name]!, entry, value, dir, at, errors);
  }
  findCycles(images, at, errors);
  const stack: ResolvedStack = {
    file,
    dir,
    imageBuilder: { flavor, config: flavorConfig },
    flavorSources: (value.flavors ?? []).map((p) => resolve(dir, p)),
    images,
  };
  if (value.reuse) stack.reuse = value.reuse;
  if (value.container_registry) {
    stack.containerRegistry = resolveRegistry(value.container_registry, dir, at, errors);
    checkNameLengths(stack, at, errors);
  }
  return stack;
}

function resolveImage(name: string, e: ImageEntry, dir: string, names: string[], at: Locator, errors: InputError[], literalRefLines: ReadonlySet<string>): ResolvedImage {
  const p = (...s: (string | number)[]) => toPointer(["images", name, ...s]);
  const err = (ptr: string, code: string, message: string, hint?: string, key = false) =>
    errors.push(new InputError(code, message, { location: at(ptr, key), hint }));

  const image = imageFromEntry(name, e);

  let contextMissing = false;
  if (e.context !== undefined) {
    const ctx = resolve(dir, e.context);
    contextMissing = !isDir(ctx);
    if (contextMissing) err(p("context"), "stack.context-missing", `Context directory not found: '${ctx}'`, "paths are relative to the stack file");
    image.context = ctx;
  }

  for (const [dest, spec] of Object.entries(e.extra_files ?? {})) {
    const destination = contextDestination(dest);
    if (destination === undefined) {
      const problem = destinationProblem(dest);
      err(p("extra_files", dest), "stack.extra-file-escapes", problem.message, problem.hint, true);
      continue;
    }
    const extra: ExtraFile = { destination };
    // file_mode.ts has already turned every accepted mode into its number.
    if (typeof spec.mode === "number") extra.mode = spec.mode;
    if ("content" in spec) extra.content = spec.content;
    else {
      const src = resolve(dir, spec.source);
      if (!existsSync(src)) err(p("extra_files", dest, "source"), "stack.extra-file-missing", `Extra file source not found: '${src}'`, "paths are relative to the stack file");
      extra.source = src;
    }
    image.extraFiles.push(extra);
  }

  if (e.dockerfile !== undefined && e.dockerfile_inline !== undefined) {
    err(p("dockerfile_inline"), "stack.dockerfile-conflict", "Both 'dockerfile' and 'dockerfile_inline' are set", "keep one of them", true);
  }
  if (e.dockerfile_inline !== undefined) {
    image.dockerfileInline = e.dockerfile_inline;
  } else {
    const rel = e.dockerfile ?? "Dockerfile";
    const base = image.context ?? dir;
    const df = isAbsolute(rel) ? rel : resolve(base, rel);
    image.dockerfile = df;
    const fromExtra = image.extraFiles.some((x) => image.context === undefined ? false : join(image.context, x.destination) === df);
    // Inside a missing context nothing can be found: that is the context's error, not a second one.
    const underMissingContext = contextMissing && !isAbsolute(rel);
    if (!fromExtra && !underMissingContext && !isFile(df)) {
      err(
        e.dockerfile !== undefined ? p("dockerfile") : p(),
        "stack.dockerfile-missing",
        `Dockerfile not found: '${df}'`,
        e.dockerfile !== undefined ? "'dockerfile' is relative to the context directory" : "set 'dockerfile' or 'dockerfile_inline'",
        e.dockerfile === undefined,
      );
    }
  }

  if (e.dockerignore !== undefined) {
    const ig = resolve(dir, e.dockerignore);
    if (!isFile(ig)) err(p("dockerignore"), "stack.dockerignore-missing", `Ignore file not found: '${ig}'`, "paths are relative to the stack file");
    image.dockerignore = ig;
  }

  // Registry cache entries: each form checked here, located at its index (cache_refs.ts).
  (e.cache_from ?? []).forEach((text, i) => {
    const r = parseCacheEntry(text, "cache_from");
    if ("problem" in r) err(p("cache_from", i), "stack.cache-ref", r.problem, r.hint);
    else if (r.value.type === "registry") image.cacheFrom.push(r.value.ref);
  });
  (e.cache_to ?? []).forEach((text, i) => {
    const r = parseCacheEntry(text, "cache_to");
    if ("problem" in r) err(p("cache_to", i), "stack.cache-ref", r.problem, r.hint);
    else image.cacheTo.push(r.value);
  });

  for (const stray of joinFlagValues(e.extra_flags ?? []).strays) {
    err(p("extra_flags", stray.index), "stack.extra-flag", `Extra flag item '${stray.item}' is neither a flag nor the value of the flag before it`, "write --flag=value, or --flag and its value as two items one after the other");
  }

  for (const [key, text] of Object.entries(e.contexts ?? {})) {
    const c = parseNamedContext(text, dir);
    if ("problem" in c) err(p("contexts", key), "stack.named-context", c.problem, c.hint);
    else if (c.type === "dir" && !isDir(c.path)) err(p("contexts", key), "stack.context-missing", `Context directory not found: '${c.path}'`, "paths are relative to the stack file");
    else if (c.type === "stack-image" && c.image === name) err(p("contexts", key), "stack.self-dependency", `Image '${name}' refers to itself in '${text}'`);
    else if (c.type === "stack-image" && !names.includes(c.image)) err(p("contexts", key), "stack.unknown-image", `Unknown image '${c.image}' in '${text}'`, suggestImage(c.image, names));
    else (image.contexts ??= {})[key] = c;
  }

  image.dependsOn.forEach((dep, i) => {
    if (dep === name) err(p("depends_on", i), "stack.self-dependency", `Image '${name}' depends on itself`);
    else if (!names.includes(dep)) err(p("depends_on", i), "stack.unknown-image", `Unknown image '${dep}' in depends_on`, suggestImage(dep, names));
  });
  misplacedImageRefs(e, [], (path, text) => {
    const where = at(p(...path), false);
    // Where interpolation saw it already (a value written in the image itself), it said so.
    if (errors.some((x) => x.code === "stack.image-ref-place" && x.location?.file === where.file && x.location?.line === where.line)) return;
    // Written `$${images.…}`: a literal '${', not a reference.
    if (literalRefLines.has(`${where.file}:${where.line}`)) return;
    errors.push(new InputError("stack.image-ref-place", `Image reference '${text}' is resolved only in build_args and contexts`, { location: where, hint: "pass it as a build arg (build_args: { BASE: \"${images.NAME.ref}\" }) and use ARG BASE in the Dockerfile" }));
  });
  for (const [k, v] of Object.entries(image.buildArgs)) {
    for (const m of v.matchAll(ANY_IMAGE_REF)) {
      const [ref, field, ...more] = m[1]!.split(".");
      if (!ref || field === undefined || more.length || !IMAGE_REF_FIELDS.includes(field)) {
        const guess = field === undefined || more.length ? undefined : closest(field, IMAGE_REF_FIELDS);
        const hint = guess ? `did you mean '\${images.${ref}.${guess}}'?` : more.length ? "images whose name holds a '.' cannot be referenced" : "write $${ for a literal '${'";
        err(p("build_args", k), "stack.image-ref", `Invalid image reference '${m[0]}': expected \${images.NAME.FIELD} with FIELD one of ${IMAGE_REF_FIELDS.join(", ")}`, hint);
        continue;
      }
      if (!names.includes(ref)) err(p("build_args", k), "stack.unknown-image", `Unknown image '${ref}' in '${m[0]}'`, suggestImage(ref, names));
      else if (ref === name) err(p("build_args", k), "stack.self-dependency", `Image '${name}' refers to itself in '${m[0]}'`);
    }
  }
  return image;
}

/**
 * `${images.…}` anywhere but build_args and contexts, e.g. merged in from an `x-*` anchor (whose
 * own place interpolation does not check): it would reach the engine as text.
 */
function misplacedImageRefs(value: unknown, path: (string | number)[], report: (path: (string | number)[], text: string) => void): void {
  if (typeof value === "string") for (const m of value.matchAll(ANY_IMAGE_REF)) report(path, m[0]);
  else if (Array.isArray(value)) value.forEach((v, i) => misplacedImageRefs(v, [...path, i], report));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) if (path.length || (k !== "build_args" && k !== "contexts")) misplacedImageRefs(v, [...path, k], report);
  }
}

/** Secrets and ssh forwards (build_mounts.ts); a stack-level secret's error points at the stack's key. */
function resolveBuildMounts(image: ResolvedImage, entry: ImageEntry, stack: StackFile, dir: string, at: Locator, errors: InputError[]): void {
  image.secrets = resolveSecrets(entry, stack, dir, (path, code, message, hint) => {
    const pointer = path[0] === "/stack" ? toPointer(path.slice(1)) : toPointer(["images", image.name, ...path]);
    // A stack-level secret is every image's: its error is reported once.
    if (errors.some((e) => e.code === code && e.location?.path === pointer)) return;
    errors.push(new InputError(code, message, { location: at(pointer, false), hint }));
  });
  image.ssh = resolveSsh(entry, dir);
}

/** Images referenced with ${images.NAME.ref} in build args and contexts are implicit dependencies. */
export function dependenciesOf(image: ResolvedImage): string[] {
  const deps = new Set(image.dependsOn);
  for (const v of Object.values(image.buildArgs)) for (const m of v.matchAll(IMAGE_REF)) deps.add(m[1]!);
  for (const d of contextDependencies(image.contexts)) deps.add(d);
  deps.delete(image.name);
  return [...deps];
}

function findCycles(images: Record<string, ResolvedImage>, at: Locator, errors: InputError[]): void {
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      errors.push(new InputError("stack.dependency-cycle", `Dependency cycle: ${cycle.join(" -> ")}`, {
        location: at(toPointer(["images", name]), true),
        hint: "remove one of these dependencies",
      }));
      return;
    }
    state.set(name, "visiting");
    for (const dep of dependenciesOf(images[name]!)) if (images[dep]) visit(dep, [...trail, name]);
    state.set(name, "done");
  };
  for (const name of Object.keys(images)) visit(name, []);
}

function resolveRegistry(r: NonNullable<StackFile["container_registry"]>, dir: string, at: Locator, errors: InputError[]): ResolvedRegistry {
  // The schema's pattern checks the grammar; this also checks what a pattern cannot (port range).
  const problem = registryUriProblem(r.uri);
  if (problem) errors.push(new InputError("stack.registry-uri", problem.message, { location: at("/container_registry/uri", false), hint: problem.hint }));
  const out: ResolvedRegistry = { uri: r.uri.replace(/\/+$/, ""), insecure: r.insecure ?? isLoopbackUri(r.uri) };
  if (r.repository !== undefined) out.repository = r.repository;
  if (r.credentials) {
    const c = r.credentials;
    const where = at("/container_registry/credentials", false);
    if ((c.password_env === undefined) === (c.password_file === undefined)) {
      errors.push(new InputError("stack.credentials", "Credentials need exactly one of 'password_env' or 'password_file'", {
        location: where,
        hint: "password_env names an environment variable; password_file a file holding the secret",
      }));
    }
    out.credentials = { username: c.username };
    if (c.password_env !== undefined) out.credentials.passwordEnv = c.password_env;
    if (c.password_file !== undefined) out.credentials.passwordFile = resolve(dir, c.password_file);
  }
  return out;
}

/** Docker refuses a repository name over 255 characters, registry host and namespace included. */
function checkNameLengths(stack: ResolvedStack, at: Locator, errors: InputError[]): void {
  const r = stack.containerRegistry!;
  for (const name of Object.keys(stack.images)) {
    const full = `${r.uri}/${r.repository ?? name}`;
    if (full.length <= MAX_NAME_LENGTH) continue;
    errors.push(new InputError("stack.name-too-long", `Image name '${full.slice(0, 40)}...' is ${full.length} characters long with the registry: the limit is ${MAX_NAME_LENGTH}`, {
      location: at(r.repository === undefined ? toPointer(["images", name]) : "/container_registry/repository", r.repository === undefined),
      hint: "use a shorter image name or registry namespace",
    }));
    if (r.repository !== undefined) return;
  }
}

/** Loopback registries (127.0.0.0/8, localhost, ::1) are plain HTTP for every engine. */
function isLoopbackUri(uri: string): boolean {
  return isLoopback(registryHost({ uri }));
}

/** Why `contextDestination` refused `dest`: it leaves the context, or a ".." would silently move it. */
function destinationProblem(dest: string): { message: string; hint: string } {
  const slashed = dest.replaceAll("\\", "/");
  const clean = posix.normalize(slashed).replace(/\/+$/, "");
  if (dest.trim() !== "" && !/^([A-Za-z]:)?\//.test(slashed) && clean !== "." && clean !== "" && clean !== ".." && !clean.startsWith("../")) {
    return { message: `Extra file destination '${dest}' must not contain '..'`, hint: `write the path it stands for: '${clean}'` };
  }
  return { message: `Extra file destination '${dest}' is outside the build context`, hint: "use a relative path without '..'" };
}


function suggestImage(name: string, names: string[]): string {
  const guess = closest(name, names);
  return guess ? `did you mean '${guess}'?` : `images in this stack: ${names.join(", ")}`;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
