import { describe, expect, test } from "bun:test";
import { Type, type TObject } from "@sinclair/typebox";
import { CONTRACT_VERSION } from "../builder/flavor.ts";
import { InputError } from "../errors.ts";
import { builtinFlavors } from "./builtins.ts";
import { checkFlavor } from "./check_flavor.ts";

const flavor = (config: TObject) => ({ contractVersion: CONTRACT_VERSION, name: "mine", type: "image_builder", config, implementation: async () => class {} });
const refusal = (config: TObject): InputError => {
  try {
    checkFlavor(flavor(config), { file: "/x/mine.ts" });
  } catch (e) {
    return e as InputError;
  }
  throw new Error("accepted");
};

describe("config defaults are checked at registration", () => {
  test("every built-in flavor's defaults fit its schema", () => {
    for (const f of builtinFlavors) expect(() => checkFlavor(f, {})).not.toThrow();
  });
  test("a default below its own minimum", () => {
    const e = refusal(Type.Object({ retries: Type.Integer({ minimum: 5, default: 1 }) }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("Flavor 'mine': the default of config key 'retries' (1) breaks its own schema: Expected integer to be greater or equal to 5");
    expect(e.location?.file).toBe("/x/mine.ts");
  });
  test("nested and optional keys, patterns, enums", () => {
    expect(refusal(Type.Object({ net: Type.Object({ mode: Type.String({ pattern: "^(host|none)$", default: "bridge" }) }) })).message).toContain("'net.mode' (\"bridge\")");
    expect(refusal(Type.Object({ level: Type.Optional(Type.Union([Type.Literal("a"), Type.Literal("b")], { default: "c" })) })).message).toContain("'level'");
    expect(refusal(Type.Object({ tags: Type.Array(Type.String({ minLength: 1 }), { default: [""] }) })).message).toContain("'tags'");
  });
  test("valid defaults pass", () => {
    expect(() => checkFlavor(flavor(Type.Object({ retries: Type.Integer({ minimum: 5, default: 5 }), name: Type.Optional(Type.String({ default: "x" })) })), {})).not.toThrow();
  });
});
