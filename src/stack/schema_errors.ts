/**
 * TypeBox validation errors -> imgb InputErrors with a location, a readable message and a hint.
 * Used for the stack file and for every flavor's `config`, so both read the same.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { InputError, type Location } from "../errors.ts";
import { pointerSegments } from "./locate.ts";
import { patternExplainers } from "./names.ts";
import { closest } from "../suggest.ts";

/** Resolves a JSON pointer (and whether the key itself is at fault) to a location. */
export type Locator = (pointer: string, key: boolean) => Location;

/**
 * One mistake, one line: TypeBox reports a mistyped required key three times (unknown key,
 * missing key, wrong type of the missing value) and a value that breaks two constraints twice.
 * Here a missing key that an unknown key is a typo of is dropped (the unknown key's hint names
 * it), nothing is reported about the value of a missing key, and each JSON path gets one error.
 */
export function schemaErrors(schema: TSchema, value: unknown, locator: Locator, prefix = "", siblings?: Siblings): InputError[] {
  const raw = [...Value.Errors(schema, value)];
  const missing = new Set(raw.filter((e) => e.type === ValueErrorType.ObjectRequiredProperty).map((e) => e.path));
  const typos = new Set<string>();
  for (const e of raw) {
    if (e.type !== ValueErrorType.ObjectAdditionalProperties) continue;
    const parent = e.path.slice(0, e.path.lastIndexOf("/"));
    const names = [...missing].filter((m) => m.slice(0, m.lastIndexOf("/")) === parent).map((m) => m.slice(m.lastIndexOf("/") + 1));
    const guess = closest(e.path.slice(e.path.lastIndexOf("/") + 1), names);
    if (guess !== undefined) typos.add(`${parent}/${guess}`);
  }
  const out: InputError[] = [];
  const seen = new Set<string>();
  for (const e of raw) {
    if (e.type === ValueErrorType.ObjectRequiredProperty ? typos.has(e.path) : missing.has(e.path)) continue;
    const id = `${e.type === ValueErrorType.ObjectRequiredProperty ? "missing" : "value"}|${e.path}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(...(variantErrors(e, locator, prefix) ?? [toInputError(e, schema, locator, prefix, siblings)]));
  }
  return out;
}

/** The keys of the other variants of a union a mapping was checked against as one variant. */
interface Siblings {
  keys: readonly string[];
  /** The required keys of the variant chosen, which a sibling's key would replace. */
  chosen: readonly string[];
}

/**
 * A mapping that fits no variant of a union of mappings, but has the required keys of exactly
 * one (`{ content: 1 }` of an extra file): that variant's own errors say what is wrong.
 */
function variantErrors(e: ValueError, locator: Locator, prefix: string): InputError[] | undefined {
  if (e.type !== ValueErrorType.Union || typeof e.value !== "object" || e.value === null || Array.isArray(e.value)) return undefined;
  const variants = (e.schema.anyOf ?? []) as TSchema[];
  if (!variants.length || !variants.every((v) => v.type === "object")) return undefined;
  const value = e.value as Record<string, unknown>;
  const keysOf = (v: TSchema) => Object.keys((v.properties ?? {}) as object);
  const fitting = variants.filter((v) => ((v.required ?? []) as string[]).every((k) => k in value));
  if (fitting.length === 0) return misspeltVariantKeys(value, [...new Set(variants.flatMap(keysOf))], locator, prefix + e.path);
  if (fitting.length !== 1) return undefined;
  const chosen = fitting[0]!;
  // An unknown key is looked up among every variant's keys: `{ content: x, sorce: y }` meant source.
  const siblings = { keys: variants.filter((v) => v !== chosen).flatMap(keysOf), chosen: (chosen.required ?? []) as string[] };
  const errors = schemaErrors(chosen, value, locator, prefix + e.path, siblings);
  return errors.length ? errors : undefined;
}

/**
 * A mapping with the required keys of no variant, because one is misspelt (`{ sorce: x }`):
 * each unknown key is one error, with its guess among all the variants' keys. Without any
 * guess, undefined: the union's own message ("either … or …") says more.
 */
function misspeltVariantKeys(value: Record<string, unknown>, keys: readonly string[], locator: Locator, pointer: string): InputError[] | undefined {
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  const guesses = unknown.map((k) => closest(k, keys));
  if (!guesses.some((g) => g !== undefined)) return undefined;
  return unknown.map(
    (k, i) =>
      new InputError("schema.unknown-key", `Unknown key '${k}'`, {
        location: locator(`${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`, true),
        hint: secretHint(k) ?? (guesses[i] !== undefined ? `did you mean '${guesses[i]}'?` : `valid keys: ${keys.join(", ")}`),
      }),
  );
}

function toInputError(e: ValueError, root: TSchema, locator: Locator, prefix: string, siblings?: Siblings): InputError {
  const pointer = prefix + e.path;
  const segs = pointerSegments(e.path);
  const last = segs[segs.length - 1] ?? "";
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const parent = subSchema(root, segs.slice(0, -1));
    const known = parent?.properties ? Object.keys(parent.properties) : [];
    const pattern = parent?.patternProperties ? Object.keys(parent.patternProperties)[0] : undefined;
    if (pattern && known.length === 0) {
      const explained = patternExplainers.get(pattern)?.(last);
      return new InputError("schema.invalid-key", explained?.message ?? `Invalid name '${last}': must match ${pattern}`, {
        location: locator(pointer, true),
        hint: explained?.hint ?? keyPatternHint(pattern),
      });
    }
    // The other variants' keys count only for the variant's own keys, not nested mappings.
    const others = siblings && segs.length === 1 ? siblings.keys.filter((k) => !known.includes(k)) : [];
    const guess = closest(last, [...known, ...others]);
    const instead = guess !== undefined && others.includes(guess) ? siblings!.chosen.filter((k) => !others.includes(k)) : [];
    const guessHint = guess === undefined ? undefined : `did you mean '${guess}'?${instead.length ? ` (in place of ${instead.map((k) => `'${k}'`).join(", ")})` : ""}`;
    return new InputError("schema.unknown-key", `Unknown key '${last}'`, {
      location: locator(pointer, true),
      hint: secretHint(last) ?? guessHint ?? (known.length ? `valid keys: ${known.join(", ")}` : undefined),
    });
  }
  if (e.type === ValueErrorType.ObjectRequiredProperty) {
    return new InputError("schema.missing-key", `Missing required key '${last}'`, {
      location: locator(prefix + "/" + segs.slice(0, -1).join("/"), false),
      hint: describeSchema(e.schema),
    });
  }
  const pattern = (e.schema as { pattern?: string }).pattern;
  const explained = typeof e.value === "string" && pattern !== undefined ? patternExplainers.get(pattern)?.(e.value) : undefined;
  if (explained) return new InputError("schema.invalid-value", explained.message, { location: locator(pointer, false), hint: explained.hint });
  const custom = (e.schema as { errorMessage?: string }).errorMessage;
  const message = custom ?? typeMessage(e);
  return new InputError("schema.invalid-value", message, { location: locator(pointer, false), hint: enumHint(e.schema) });
}

function typeMessage(e: ValueError): string {
  const got = describeValue(e.value);
  switch (e.type) {
    case ValueErrorType.String:
      return `Expected a string, got ${got}`;
    case ValueErrorType.Boolean:
      return `Expected true or false, got ${got}`;
    case ValueErrorType.Integer:
      return `Expected an integer, got ${got}`;
    case ValueErrorType.Number:
      return `Expected a number, got ${got}`;
    case ValueErrorType.Object:
      return `Expected a mapping, got ${got}`;
    case ValueErrorType.Array:
      return `Expected a list, got ${got}`;
    case ValueErrorType.StringPattern:
      return `Invalid value ${got}: must match ${(e.schema as { pattern?: string }).pattern}`;
    case ValueErrorType.Literal:
    case ValueErrorType.Union:
      return `Invalid value ${got}`;
    case ValueErrorType.ArrayUniqueItems:
      return "List items must be unique";
    case ValueErrorType.ObjectMinProperties:
      return "Must not be empty";
    case ValueErrorType.StringMinLength:
      return (e.schema as { minLength?: number }).minLength === 1 ? "Must not be empty" : `Expected at least ${(e.schema as { minLength?: number }).minLength} characters, got ${got}`;
    case ValueErrorType.StringMaxLength:
      return `Expected at most ${(e.schema as { maxLength?: number }).maxLength} characters, got ${String(e.value).length}`;
    default:
      return `${e.message}, got ${got}`;
  }
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `'${v.length > 60 ? v.slice(0, 57) + "..." : v}'`;
  return `${typeof v} ${String(v)}`;
}

function enumHint(schema: TSchema): string | undefined {
  const variants = (schema.anyOf as TSchema[] | undefined) ?? [];
  const consts = variants.map((v) => v.const).filter((c) => c !== undefined);
  if (consts.length && consts.length === variants.length) return `one of: ${consts.map((c) => JSON.stringify(c)).join(", ")}`;
  if (schema.const !== undefined) return `expected ${JSON.stringify(schema.const)}`;
  return undefined;
}

function describeSchema(schema: TSchema): string | undefined {
  return typeof schema.description === "string" ? schema.description : undefined;
}

function keyPatternHint(pattern: string): string {
  if (pattern.startsWith("^[a-z0-9]")) return "image names are lowercase repository paths: letters, digits, '.', '_', '-' and '/'";
  if (pattern.startsWith("^[A-Za-z_]")) return "names start with a letter or '_' and contain letters, digits and '_'";
  return `keys must match ${pattern}`;
}

function secretHint(key: string): string | undefined {
  if (/^(password|token|secret|pass|passwd)$/i.test(key)) {
    return "secrets are never written in the stack file: use password_env (a variable name) or password_file";
  }
  return undefined;
}

function subSchema(root: TSchema, segs: readonly string[]): TSchema | undefined {
  let s: TSchema | undefined = root;
  for (const seg of segs) {
    if (!s) return undefined;
    if (s.anyOf) s = (s.anyOf as TSchema[]).find((v) => v.type === "object") ?? s;
    if (s.properties && seg in s.properties) s = s.properties[seg] as TSchema;
    else if (s.patternProperties) s = Object.values(s.patternProperties)[0] as TSchema;
    else if (s.items) s = s.items as TSchema;
    else return undefined;
  }
  return s;
}
