/** `imgb schema` checked by an independent validator (ajv): examples pass, the corpus fails. */
import { describe, expect, test } from "bun:test";
import Ajv from "ajv";
import { Glob } from "bun";
import { parse } from "yaml";
import { dirname } from "node:path";
import { FlavorCatalog } from "../../src/catalog/catalog.ts";
import { loadFlavorFile } from "../../src/plugins/load_flavor_file.ts";
import { stackJsonSchema } from "../../src/stack/json_schema.ts";
import { corpus } from "./corpus.ts";

const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(stackJsonSchema(FlavorCatalog.withBuiltins()));
const root = `${import.meta.dir}/../..`;

describe("imgb schema (validated by ajv)", () => {
  const examples = [...new Glob("examples/**/imgb.yaml").scanSync(root)];
  test("there are examples", () => expect(examples.length).toBeGreaterThanOrEqual(2));
  for (const rel of examples) {
    test(`accepts ${rel}`, async () => {
      const value = parse(await Bun.file(`${root}/${rel}`).text());
      // A stack with its own flavor files is checked against a schema that includes them.
      let check = validate;
      if (value.flavors?.length) {
        const catalog = FlavorCatalog.withBuiltins();
        for (const f of value.flavors as string[]) catalog.add(await loadFlavorFile(f, dirname(`${root}/${rel}`)), f, {});
        check = new Ajv({ strict: false, allErrors: true }).compile(stackJsonSchema(catalog));
      }
      const ok = check(value);
      expect(ok ? [] : check.errors).toEqual([]);
    });
  }
  test("accepts x-* keys, merge keys, groups, inherits, matrix and contexts", () => {
    const value = parse(
      [
        "x-common: &common { context: ., labels: { team: core } }",
        "image_builder: { flavor: podman, x-note: n, config: { x-tuning: 1 } }",
        "groups: { default: [app, base] }",
        "images:",
        "  base: { <<: *common, x-comment: c, extra_flags: [--add-host, 'db:127.0.0.1'] }",
        "  app: { inherits: base, matrix: { py: ['3.11', '3.12'] }, name: 'app-${matrix.py}', contexts: { assets: ./assets } }",
      ].join("\n"),
      { merge: true },
    );
    const ok = validate(value);
    expect(ok ? [] : validate.errors).toEqual([]);
    expect(validate(parse("images: { app: { x_typo: 1 } }"))).toBe(false);
  });
  for (const c of corpus.filter((c) => c.schema)) {
    test(`rejects: ${c.name}`, () => {
      const text = typeof c.yaml === "function" ? String(c.yaml()) : c.yaml;
      expect(validate(parse(text, { uniqueKeys: false }))).toBe(false);
    });
  }
});
