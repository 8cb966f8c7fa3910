import { describe, expect, test } from "bun:test";
import { FlavorCatalog } from "../catalog/catalog.ts";
import { stackJsonSchema } from "./json_schema.ts";
import { ImageSchema } from "./schema.ts";

describe("stack schema descriptions", () => {
  test("no_cache says it implies no reuse, in the schema and in `imgb schema`", () => {
    const own = ImageSchema.properties.no_cache.description!;
    expect(own).toContain("--no-cache");
    expect(own).toMatch(/never reusing an earlier identical build/);
    const json = JSON.stringify(stackJsonSchema(FlavorCatalog.withBuiltins()));
    expect(json).toContain(JSON.stringify(own).slice(1, -1));
  });
});
