import { describe, expect, test } from "bun:test";
import { imageFromEntry } from "./image_entry.ts";
import { ImageSchema } from "./schema.ts";

describe("an image entry's defaults come from ImageSchema", () => {
  test("an empty entry: every default, as the stack resolver and `imgb context DIR` use it", () => {
    expect(imageFromEntry("app", {})).toEqual({
      name: "app",
      buildArgs: {},
      platforms: [],
      labels: {},
      tags: ["latest"],
      extraFiles: [],
      dependsOn: [],
      noCache: false,
      pull: false,
      extraFlags: [],
      cacheFrom: [],
      cacheTo: [],
      annotations: {},
      secrets: [],
      ssh: [],
    });
  });
  test("written keys win; scalars in maps become strings; the entry is not changed", () => {
    const entry = { tags: ["v1"], no_cache: true, build_args: { N: 1, B: true }, target: "t", network: "none" };
    const image = imageFromEntry("app", entry);
    expect(image).toMatchObject({ tags: ["v1"], noCache: true, buildArgs: { N: "1", B: "true" }, target: "t", network: "none", pull: false });
    expect(entry).toEqual({ tags: ["v1"], no_cache: true, build_args: { N: 1, B: true }, target: "t", network: "none" });
  });
  test("each default is the schema's own `default` (one place to change them)", () => {
    const image = imageFromEntry("app", {}) as unknown as Record<string, unknown>;
    const keys = { build_args: "buildArgs", platforms: "platforms", labels: "labels", tags: "tags", depends_on: "dependsOn", no_cache: "noCache", pull: "pull", extra_flags: "extraFlags" } as const;
    for (const [key, field] of Object.entries(keys)) {
      const schema = ImageSchema.properties[key as keyof typeof keys] as { default?: unknown };
      expect(schema.default).toBeDefined();
      expect(image[field]).toEqual(schema.default);
    }
  });
});
