import { describe, expect, test } from "bun:test";
import { normalizeForSchema } from "./normalize.ts";
import { ExtraFileSchema, ImageSchema, StackSchema } from "./schema.ts";

describe("normalizeForSchema", () => {
  test("x-* keys leave mappings with fixed keys, not mappings of names", () => {
    const value = { "x-top": 1, images: { "x-app": { "x-note": 1, labels: { "x-team": "a" }, extra_files: { f: { content: "c", "x-why": 1 } } } } };
    normalizeForSchema(StackSchema, value);
    expect(value).toEqual({ images: { "x-app": { labels: { "x-team": "a" }, extra_files: { f: { content: "c" } } } } } as never);
  });

  test("strings become booleans and numbers only where nothing else fits", () => {
    const image = { no_cache: "FALSE", pull: "yes", build_args: { A: "true" }, tags: ["1"] };
    normalizeForSchema(ImageSchema, image);
    expect(image).toEqual({ no_cache: false, pull: true, build_args: { A: "true" }, tags: ["1"] } as never);
    expect(normalizeForSchema(ImageSchema.properties.no_cache, "abc")).toBe("abc");
    expect(normalizeForSchema(StackSchema.properties.version, "1")).toBe(1);
    // A number, which the schema then refuses (version is 1): the message names the value.
    expect(normalizeForSchema(StackSchema.properties.version, "2")).toBe(2);
    // A mode may be a string ("0755"): left to file_mode.ts.
    expect(normalizeForSchema(ExtraFileSchema, { content: "x", mode: "0755" })).toEqual({ content: "x", mode: "0755" });
  });
});
