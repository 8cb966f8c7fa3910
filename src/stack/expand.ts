/**
 * bake's `inherits` and `matrix`: image definitions made into the images they stand for, before
 * the schema checks them. An image takes the keys of the images it inherits (in order, its own
 * last; mappings merged entry by entry, everything else replaced); a `matrix` image becomes one
 * image per combination of its variables, `${matrix.NAME}` replaced in every value. Every
 * expanded key remembers where it is written (`sourceOf`), so later errors still say file:line:col.
 */
import type { TSchema } from "@sinclair/typebox";
import { InputError } from "../errors.ts";
import { closest } from "../suggest.ts";
import { pointerSegments, toPointer } from "./locate.ts";
import { InheritsSchema, MatrixSchema } from "./schema.ts";
import { schemaErrors, type Locator } from "./schema_errors.ts";

/** Keys that say how a definition becomes images: used up here, never inherited. */
const DEFINITION_KEYS = ["inherits", "matrix", "name"] as const;
const MATRIX_REF = /\$\{matrix\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Images one matrix definition may make: enough for any build farm, and no runaway product. */
export const MAX_MATRIX_IMAGES = 256;

type Entry = Record<string, unknown>;
/** Which image's entry a key (`KEY`) or a mapping's entry (`KEY/NAME`) comes from. */
type Owners = Map<string, string>;

export interface Expansion {
  /** The stack value with `images` expanded (a new object; the input is not changed). */
  value: Record<string, unknown>;
  /** The images each matrix definition became, by the definition's name. */
  matrix: Record<string, string[]>;
  /** The pointer in the file that an expanded pointer (`/images/app-3.11/tags/0`) comes from. */
  sourceOf(pointer: string): string;
}

export function expandImages(value: Record<string, unknown>, at: Locator, errors: InputError[]): Expansion {
  const images = value.images;
  const identity: Expansion = { value, matrix: {}, sourceOf: (p) => p };
  if (!isEntry(images) || !Object.values(images).some((e) => isEntry(e) && DEFINITION_KEYS.some((k) => k in e) || hasMatrixRef(e))) return identity;
  const raw = images as Record<string, unknown>;
  const err = (pointer: string, code: string, message: string, hint?: string, key = false) => errors.push(new InputError(code, message, { location: at(pointer, key), hint }));

  // 1. inherits: each definition's merged entry and who owns each key.
  const merged = new Map<string, { entry: Entry; owners: Owners }>();
  const mergeOf = (name: string, trail: string[]): { entry: Entry; owners: Owners } | undefined => {
    const done = merged.get(name);
    if (done) return done;
    const own = raw[name];
    if (!isEntry(own)) return undefined;
    if (trail.includes(name)) {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      err(toPointer(["images", cycle[0]!, "inherits"]), "stack.inherits-cycle", `Inheritance cycle: ${cycle.join(" -> ")}`, "remove one of these inherits", true);
      return undefined;
    }
    const entry: Entry = {};
    const owners: Owners = new Map();
    for (const [i, parent] of parentsOf(name, own, at, errors).entries()) {
      const where = toPointer(["images", name, "inherits", ...(Array.isArray(own.inherits) ? [i] : [])]);
      if (parent === name) {
        err(where, "stack.inherits-self", `Image '${name}' inherits from itself`);
        continue;
      }
      if (!(parent in raw)) {
        const guess = closest(parent, Object.keys(raw));
        err(where, "stack.unknown-image", `Unknown image '${parent}' in inherits`, guess ? `did you mean '${guess}'?` : `images in this stack: ${Object.keys(raw).join(", ")}`);
        continue;
      }
      if (isEntry(raw[parent]) && "matrix" in (raw[parent] as Entry)) {
        err(where, "stack.inherits-matrix", `Image '${name}' inherits from '${parent}', which has a matrix`, "inherit from an image without matrix (move the shared keys there), or give this image its own matrix");
        continue;
      }
      const from = mergeOf(parent, [...trail, name]);
      if (from) mergeInto(entry, owners, from.entry, from.owners);
    }
    const mine = Object.fromEntries(Object.entries(own).filter(([k]) => k !== "inherits"));
    mergeInto(entry, owners, mine, ownerOf(mine, name));
    const result = { entry, owners };
    merged.set(name, result);
    return result;
  };

  // 2. matrix: each combination an image, in the definitions' order.
  const out: Record<string, unknown> = {};
  const origins = new Map<string, { source: string; owners: Owners }>();
  const matrix: Record<string, string[]> = {};
  const takenBy = new Map<string, string>(Object.keys(raw).filter((n) => !(isEntry(raw[n]) && "matrix" in (raw[n] as Entry))).map((n) => [n, n]));
  for (const [name, own] of Object.entries(raw)) {
    const m = isEntry(own) ? mergeOf(name, []) : undefined;
    if (!m) {
      out[name] = own;
      continue;
    }
    const { matrix: vars, name: template, ...entry } = m.entry;
    const owned = (key: string) => toPointer(["images", m.owners.get(key) ?? name, key]);
    if (vars === undefined) {
      if (template !== undefined) err(owned("name"), "stack.name-without-matrix", `Image '${name}' has 'name', which names the images of a matrix, but no matrix`, "the image's name is its key under images:; remove 'name'", true);
      for (const bad of matrixRefs(entry)) err(sourcePointer(name, m.owners, bad.path), "stack.matrix-ref", `'\${matrix.${bad.variable}}' in image '${name}', which has no matrix`, "add a matrix: { VARIABLE: [VALUES] } to the image, or write $${ for a literal '${'");
      out[name] = entry;
      origins.set(name, { source: name, owners: m.owners });
      continue;
    }
    const problems = schemaErrors(MatrixSchema as TSchema, vars, at, owned("matrix"));
    if (problems.length) {
      errors.push(...problems);
      continue;
    }
    const variables = vars as Record<string, (string | number | boolean)[]>;
    const count = Object.values(variables).reduce((n, values) => n * values.length, 1);
    if (count > MAX_MATRIX_IMAGES) {
      err(owned("matrix"), "stack.matrix-too-large", `Matrix image '${name}' would make ${count} images: the limit is ${MAX_MATRIX_IMAGES}`, "split it into several definitions, or list fewer values", true);
      continue;
    }
    if (template !== undefined && typeof template !== "string") {
      err(owned("name"), "schema.invalid-value", "Expected a string", "e.g. name: app-py${matrix.py}");
      continue;
    }
    matrix[name] = [];
    for (const combination of combinations(variables)) {
      const values = Object.fromEntries(Object.entries(combination).map(([k, v]) => [k, String(v)]));
      const unknown = new Set<string>();
      const image = substitute(entry, values, unknown) as Entry;
      const variant = template === undefined ? defaultName(name, Object.values(values)) : (substitute(template, values, unknown) as string);
      for (const variable of unknown) {
        const where = matrixRefs(entry).find((r) => r.variable === variable);
        const pointer = where ? sourcePointer(name, m.owners, where.path) : owned("name");
        const guess = closest(variable, Object.keys(values));
        err(pointer, "stack.matrix-ref", `Unknown matrix variable '\${matrix.${variable}}' in image '${name}'`, guess ? `did you mean '\${matrix.${guess}}'?` : `its matrix has: ${Object.keys(values).join(", ")}`);
      }
      if (unknown.size) break;
      const taken = takenBy.get(variant);
      if (taken !== undefined) {
        const message = taken === name
          ? `Matrix image '${name}' makes the image '${variant}' twice (values ${describe(values)})`
          : `Matrix image '${name}' makes the image '${variant}', which ${taken === variant ? "is also an image of this stack" : `matrix image '${taken}' makes too`}`;
        const hint = template === undefined ? "give the matrix a name that differs per combination, e.g. name: app-${matrix.VARIABLE}" : "use every matrix variable in the name, e.g. name: app-${matrix.py}";
        err(owned(template === undefined ? "matrix" : "name"), "stack.matrix-duplicate", message, hint, true);
        break;
      }
      takenBy.set(variant, name);
      matrix[name].push(variant);
      out[variant] = image;
      origins.set(variant, { source: name, owners: m.owners });
    }
  }

  // 3. depends_on a matrix definition means every image it made.
  for (const image of Object.values(out)) {
    if (!isEntry(image) || !Array.isArray(image.depends_on)) continue;
    image.depends_on = [...new Set(image.depends_on.flatMap((d) => (typeof d === "string" && matrix[d] ? matrix[d] : [d])))];
  }

  return {
    value: { ...value, images: out },
    matrix,
    sourceOf(pointer) {
      const segs = pointerSegments(pointer);
      const origin = segs[0] === "images" && segs[1] !== undefined ? origins.get(segs[1]) : undefined;
      return origin ? sourcePointer(origin.source, origin.owners, segs.slice(2)) : pointer;
    },
  };
}

/** The images `name` inherits from, in order; a malformed `inherits` is reported and inherits nothing. */
function parentsOf(name: string, entry: Entry, at: Locator, errors: InputError[]): string[] {
  if (entry.inherits === undefined) return [];
  const problems = schemaErrors(InheritsSchema as TSchema, entry.inherits, at, toPointer(["images", name, "inherits"]));
  if (problems.length) {
    errors.push(...problems);
    return [];
  }
  return typeof entry.inherits === "string" ? [entry.inherits] : (entry.inherits as string[]);
}

/** Keys of `from` laid over `into`: mappings entry by entry, anything else replaced. */
function mergeInto(into: Entry, owners: Owners, from: Entry, fromOwners: Owners): void {
  for (const [key, v] of Object.entries(from)) {
    const before = into[key];
    const merge = isEntry(before) && isEntry(v);
    if (!merge) for (const k of [...owners.keys()]) if (k.startsWith(`${key}/`)) owners.delete(k);
    into[key] = merge ? { ...before, ...structuredClone(v) } : structuredClone(v);
    if (isEntry(v)) for (const sub of Object.keys(v)) owners.set(`${key}/${sub}`, fromOwners.get(`${key}/${sub}`) ?? fromOwners.get(key)!);
    owners.set(key, fromOwners.get(key)!);
  }
}

function ownerOf(entry: Entry, name: string): Owners {
  return new Map(Object.keys(entry).map((k) => [k, name]));
}

/** `/images/OWNER/KEY/…`: the image whose entry holds that key (or that mapping entry). */
function sourcePointer(name: string, owners: Owners, path: readonly (string | number)[]): string {
  const [key, sub] = path.map(String);
  const owner = (key !== undefined && sub !== undefined ? owners.get(`${key}/${sub}`) : undefined) ?? (key !== undefined ? owners.get(key) : undefined) ?? name;
  return toPointer(["images", owner, ...path]);
}

function* combinations(variables: Record<string, readonly (string | number | boolean)[]>): Generator<Record<string, string | number | boolean>> {
  const names = Object.keys(variables);
  const index = names.map(() => 0);
  for (;;) {
    yield Object.fromEntries(names.map((n, i) => [n, variables[n]![index[i]!]!]));
    let i = names.length - 1;
    while (i >= 0 && ++index[i]! === variables[names[i]!]!.length) index[i--] = 0;
    if (i < 0) return;
  }
}

/** bake's default: the definition's name and each value, made fit for an image name. */
function defaultName(name: string, values: readonly string[]): string {
  return [name, ...values.map((v) => v.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+|[._-]+$/g, ""))].join("-");
}

/** A copy of `value` with `${matrix.NAME}` replaced in every string; names not in `values` are collected. */
function substitute(value: unknown, values: Record<string, string>, unknown: Set<string>): unknown {
  if (typeof value === "string") {
    return value.replace(MATRIX_REF, (ref, variable: string) => {
      if (variable in values) return values[variable]!;
      unknown.add(variable);
      return ref;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, values, unknown));
  if (isEntry(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values, unknown)]));
  return value;
}

/** Where `${matrix.…}` appears in an entry: the path from the entry, and the variable. */
function matrixRefs(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; variable: string }[] {
  if (typeof value === "string") return [...value.matchAll(MATRIX_REF)].map((m) => ({ path, variable: m[1]! }));
  if (Array.isArray(value)) return value.flatMap((v, i) => matrixRefs(v, [...path, i]));
  if (isEntry(value)) return Object.entries(value).flatMap(([k, v]) => matrixRefs(v, [...path, k]));
  return [];
}

function hasMatrixRef(value: unknown): boolean {
  return matrixRefs(value).length > 0;
}

function describe(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${v}`).join(", ");
}

function isEntry(v: unknown): v is Entry {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
