import { describe, expect, test } from "bun:test";
import type { InputError } from "../errors.ts";
import { expandImages } from "./expand.ts";

const at = (path: string) => ({ path });

describe("expandImages", () => {
  test("inherits: mappings merged entry by entry, the rest replaced; sourceOf names the image that wrote a key", () => {
    const errors: InputError[] = [];
    const x = expandImages({ images: { base: { context: ".", build_args: { A: "1", B: "1" }, tags: ["a"] }, app: { inherits: "base", build_args: { B: "2" } } } }, at, errors);
    expect(errors).toEqual([]);
    expect((x.value.images as Record<string, unknown>).app).toEqual({ context: ".", build_args: { A: "1", B: "2" }, tags: ["a"] });
    expect(x.sourceOf("/images/app/build_args/A")).toBe("/images/base/build_args/A");
    expect(x.sourceOf("/images/app/build_args/B")).toBe("/images/app/build_args/B");
    expect(x.sourceOf("/images/app/tags/0")).toBe("/images/base/tags/0");
  });

  test("matrix: combinations in order, the last variable fastest; default names; the definition's images listed", () => {
    const errors: InputError[] = [];
    const x = expandImages({ images: { lib: { matrix: { a: ["1", "2"], b: ["X y"] }, tags: ["${matrix.a}-${matrix.b}"] } } }, at, errors);
    expect(errors).toEqual([]);
    expect(x.matrix).toEqual({ lib: ["lib-1-x-y", "lib-2-x-y"] });
    expect((x.value.images as Record<string, { tags: string[] }>)["lib-2-x-y"]!.tags).toEqual(["2-X y"]);
    expect(x.sourceOf("/images/lib-2-x-y/tags/0")).toBe("/images/lib/tags/0");
  });

  test("a stack without inherits or matrix is returned as it is", () => {
    const value = { images: { app: { context: "." } } };
    expect(expandImages(value, at, []).value).toBe(value);
  });
});
