/**
 * The stack file's JSON Schema, derived from the TypeBox schemas: the stack's own, with
 * `image_builder` narrowed to one variant per known flavor so editors check `config` too.
 */
import { Type, type TSchema } from "@sinclair/typebox";
import { AUTO_DESCRIPTION } from "../catalog/builtins.ts";
import type { FlavorCatalog } from "../catalog/catalog.ts";
import { portableFormats } from "./json_schema_formats.ts";
import { configSchemaWithNodes } from "./nodes.ts";
import { EXTENSION_KEY } from "./normalize.ts";
import { ImageBuilderSchema, StackSchema } from "./schema.ts";

export function stackJsonSchema(catalog: FlavorCatalog): Record<string, unknown> {
  const variants: TSchema[] = catalog.list().map(({ flavor }) =>
    Type.Object(
      { flavor: Type.Literal(flavor.name, { description: flavor.description }), config: Type.Optional(configSchemaWithNodes(flavor)) },
      { additionalProperties: false, description: `image_builder with the ${flavor.name} flavor` },
    ),
  );
  variants.push(
    Type.Object({ flavor: Type.Literal("auto", { description: AUTO_DESCRIPTION }) }, { additionalProperties: false }),
  );
  const schema = {
    ...StackSchema,
    properties: {
      ...StackSchema.properties,
      image_builder: Type.Optional(Type.Union(variants, { description: ImageBuilderSchema.description })),
    },
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://imgb.dev/schema/stack-v1.json",
    ...plain(schema),
  };
}

/**
 * Drops TypeBox symbols and imgb-only keywords so any JSON Schema validator accepts it (a
 * flavor's own formats become annotations: json_schema_formats.ts). An editor sees the file
 * before interpolation, so a value holding `${…}` passes a `pattern`; and before `x-*` keys are
 * dropped, so every mapping with fixed keys allows them.
 */
function plain(schema: TSchema | unknown): Record<string, unknown> {
  return portableFormats(JSON.parse(
    JSON.stringify(schema, (k, v) => {
      if (k === "errorMessage") return undefined;
      if (k === "pattern" && typeof v === "string") return `(?:${v})|\\$\\{`;
      if (v && typeof v === "object" && v.properties && v.additionalProperties === false && !v.patternProperties) v = { ...v, patternProperties: { [EXTENSION_KEY.source]: {} } };
      if (v && typeof v === "object" && Array.isArray(v.required) && v.properties) return withOptionalDefaults(v);
      return v;
    }),
  )) as Record<string, unknown>;
}

/** A key with a default may be omitted from the file: it is not required there. */
function withOptionalDefaults(o: { required: string[]; properties: Record<string, { default?: unknown }> }): object {
  const required = o.required.filter((k) => o.properties[k]?.default === undefined);
  const { required: _, ...rest } = o;
  return required.length ? { ...rest, required } : rest;
}
