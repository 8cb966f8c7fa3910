/**
 * What compose users write, made into what the schema checks, guided by the schema itself:
 *   - `x-*` extension keys are dropped from every mapping with fixed keys (the stack, an image,
 *     image_builder, a flavor's config…), never from a mapping of names (labels, build_args,
 *     images), where `x-…` is a name like any other;
 *   - a string where the schema wants a boolean or a number becomes one when it reads as one, so
 *     `no_cache: ${NO_CACHE:-false}` is a boolean after interpolation; anything else stays a
 *     string and the schema reports it at its place ("abc" where true/false is expected).
 * Changes `value` in place.
 */
import type { TSchema } from "@sinclair/typebox";

/** Extension keys, as docker compose spells them. */
export const EXTENSION_KEY = /^x-/;

const TRUE = new Set(["true", "yes", "on"]);
const FALSE = new Set(["false", "no", "off"]);
const NUMBER = /^[-+]?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$/;

/** Returns the value to use (a coerced scalar, or `value` itself, edited in place). */
export function normalizeForSchema(schema: TSchema, value: unknown): unknown {
  if (typeof value === "string") return coerce(schema, value);
  if (Array.isArray(value)) {
    const items = schema.items as TSchema | undefined;
    const variants = schema.anyOf as TSchema[] | undefined;
    const itemSchema = items ?? variants?.find((v) => v.type === "array")?.items;
    if (itemSchema) for (let i = 0; i < value.length; i++) value[i] = normalizeForSchema(itemSchema as TSchema, value[i]);
    return value;
  }
  if (typeof value !== "object" || value === null) return value;
  const map = value as Record<string, unknown>;
  const objects = objectVariants(schema);
  if (!objects.length) return value;
  const fixed = objects.filter((s) => s.properties && !s.patternProperties);
  if (fixed.length === objects.length) {
    for (const key of Object.keys(map)) if (EXTENSION_KEY.test(key) && !fixed.some((s) => key in s.properties)) delete map[key];
    // A union of mappings (an extra file): each key's schema from the first variant that has it.
    for (const key of Object.keys(map)) {
      const sub = fixed.find((s) => key in s.properties)?.properties[key] as TSchema | undefined;
      if (sub) map[key] = normalizeForSchema(sub, map[key]);
    }
    return value;
  }
  const record = objects.find((s) => s.patternProperties);
  const valueSchema = record ? (Object.values(record.patternProperties)[0] as TSchema) : undefined;
  if (valueSchema) for (const key of Object.keys(map)) map[key] = normalizeForSchema(valueSchema, map[key]);
  return value;
}

function objectVariants(schema: TSchema): TSchema[] {
  if (schema.type === "object") return [schema];
  return ((schema.anyOf as TSchema[] | undefined) ?? []).filter((v) => v.type === "object");
}

/** A string where only a boolean or only a number fits (not where a string fits too). */
function coerce(schema: TSchema, text: string): unknown {
  const variants = (schema.anyOf as TSchema[] | undefined) ?? [schema];
  if (variants.some((v) => v.type === "string")) return text;
  const lower = text.trim().toLowerCase();
  if (variants.some((v) => v.type === "boolean")) {
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
  }
  if (variants.some((v) => v.type === "integer" || v.type === "number" || typeof v.const === "number") && NUMBER.test(lower)) {
    const n = Number(lower);
    if (variants.some((v) => v.type === "number" || (v.type === "integer" && Number.isInteger(n)) || v.const === n)) return n;
  }
  return text;
}
