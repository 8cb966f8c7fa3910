/**
 * `format` in the emitted JSON Schema: the formats JSON Schema defines stay; one a flavor made
 * up and registered with TypeBox's FormatRegistry (`FormatRegistry.Set("semver", …)`) is known
 * to imgb only, and a JSON Schema validator refuses or warns about a format it does not know. It
 * becomes `x-imgb-format` (an annotation, like `x-imgb-output`); a `pattern` beside it stays, so
 * editors still check what can be checked without imgb.
 */

/** The formats of JSON Schema (draft-07, plus 2019-09's duration and uuid). */
export const JSON_SCHEMA_FORMATS: ReadonlySet<string> = new Set([
  "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
  "uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid", "json-pointer", "relative-json-pointer", "regex",
]);

/** The annotation that carries an imgb-only format. */
export const FORMAT_ANNOTATION = "x-imgb-format";

/**
 * The schema with every imgb-only `format` turned into the annotation, found by walking the
 * keywords that hold subschemas (never inside `default`, `const`, `examples` or `enum` values).
 */
export function portableFormats(schema: unknown): unknown {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(key) && typeof value === "object" && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, portableFormats(v)]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map(portableFormats);
    } else if (SCHEMA_KEYS.has(key) || (SCHEMA_LISTS.has(key) && typeof value === "object")) {
      out[key] = portableFormats(value);
    } else {
      out[key] = value;
    }
  }
  const format = out.format;
  if (typeof format === "string" && !JSON_SCHEMA_FORMATS.has(format)) {
    delete out.format;
    out[FORMAT_ANNOTATION] = format;
  }
  return out;
}

const SCHEMA_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs", "dependentSchemas"]);
const SCHEMA_LISTS = new Set(["anyOf", "allOf", "oneOf", "items", "prefixItems"]);
const SCHEMA_KEYS = new Set(["additionalProperties", "additionalItems", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems"]);
