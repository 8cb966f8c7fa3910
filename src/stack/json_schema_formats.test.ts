import { describe, expect, test } from "bun:test";
import { portableFormats } from "./json_schema_formats.ts";

describe("portableFormats", () => {
  test("an imgb-only format becomes x-imgb-format at any depth; JSON Schema's own formats stay", () => {
    const schema = {
      type: "object",
      properties: {
        version: { type: "string", format: "semver", pattern: "^1" },
        when: { type: "string", format: "date-time" },
        list: { type: "array", items: { type: "string", format: "semver" } },
        either: { anyOf: [{ type: "string", format: "digest" }, { type: "null" }] },
        map: { type: "object", patternProperties: { "^a": { type: "string", format: "semver" } }, additionalProperties: { type: "string", format: "semver" } },
      },
    };
    expect(portableFormats(schema)).toEqual({
      type: "object",
      properties: {
        version: { type: "string", pattern: "^1", "x-imgb-format": "semver" },
        when: { type: "string", format: "date-time" },
        list: { type: "array", items: { type: "string", "x-imgb-format": "semver" } },
        either: { anyOf: [{ type: "string", "x-imgb-format": "digest" }, { type: "null" }] },
        map: { type: "object", patternProperties: { "^a": { type: "string", "x-imgb-format": "semver" } }, additionalProperties: { type: "string", "x-imgb-format": "semver" } },
      },
    });
  });

  test("values are not schemas: defaults, consts, examples and a config key named format are left alone", () => {
    const schema = {
      type: "object",
      default: { format: "docker" },
      examples: [{ format: "oci" }],
      properties: { format: { const: "docker", type: "string" } },
    };
    expect(portableFormats(schema)).toEqual(schema);
  });
});
