/**
 * Which flavor config keys change the image a build makes. The checksum that decides reuse
 * (src/orchestrate/image_checksum.ts) must be the same on every machine, so it takes only
 * these: `binary`, a daemon address, a storage root or a config directory say where and how to
 * run the engine, not what comes out. A flavor marks each key in its TypeBox schema with
 * `{ [OUTPUT_KEY]: true }` (a plain JSON Schema annotation, so `imgb flavor describe` and custom
 * flavors can say the same). A schema that marks no key at all is taken whole: a custom flavor
 * that says nothing keeps machine-dependent checksums rather than reusing a wrong image.
 */
import type { TObject } from "@sinclair/typebox";

/** The schema annotation: `Type.Boolean({ [OUTPUT_KEY]: true, … })`. */
export const OUTPUT_KEY = "x-imgb-output";

/** The config keys the schema marks as changing the output, or undefined when it marks none. */
export function outputKeys(schema: TObject): string[] | undefined {
  const keys = Object.entries(schema.properties ?? {})
    .filter(([, s]) => (s as Record<string, unknown>)[OUTPUT_KEY] === true)
    .map(([k]) => k);
  const marked = Object.values(schema.properties ?? {}).some((s) => OUTPUT_KEY in (s as object));
  return marked ? keys.sort() : undefined;
}

/**
 * The part of `config` that enters the checksum: the marked keys (all when none is marked), never
 * the `connection` keys (a flavor's `nodeKeys`: which engine builds says nothing of the image).
 */
export function outputConfig(schema: TObject, config: Readonly<Record<string, unknown>>, connection: readonly string[] = []): Record<string, unknown> {
  const keys = outputKeys(schema);
  const out: Record<string, unknown> = {};
  for (const k of keys ?? Object.keys(config)) if (config[k] !== undefined && !connection.includes(k)) out[k] = config[k];
  return out;
}
