import { describe, expect, test } from "bun:test";
import { Type, type TObject } from "@sinclair/typebox";
import { defaultBuildOptions } from "../builder/build_options.ts";
import { CONTRACT_VERSION, defineFlavor, optionsForContract, UNDECLARED_CONTRACT_VERSION } from "../builder/flavor.ts";
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

describe("the contract version a flavor declares is checked", () => {
  const withVersion = (contractVersion: unknown) => {
    const f: Record<string, unknown> = { ...flavor(Type.Object({})), contractVersion };
    if (contractVersion === undefined) delete f.contractVersion;
    return f;
  };
  test("a version this imgb does not support is refused, naming both versions and the fix", () => {
    for (const v of [CONTRACT_VERSION + 1, 0, "2"]) {
      let e: InputError | undefined;
      try {
        checkFlavor(withVersion(v), { file: "/x/mine.ts" });
      } catch (x) {
        e = x as InputError;
      }
      expect(e).toBeInstanceOf(InputError);
      expect(e!.code).toBe("flavor.invalid");
      expect(e!.message).toBe(`Unsupported flavor contract version ${JSON.stringify(v)}: this imgb supports versions 1, 2 (current: ${CONTRACT_VERSION})`);
      expect(e!.hint).toContain(`contractVersion: ${CONTRACT_VERSION}`);
      expect(e!.location?.file).toBe("/x/mine.ts");
    }
  });
  test("defineFlavor stamps nothing: what the flavor declares is what is checked", () => {
    const declared = defineFlavor({ ...flavor(Type.Object({})), type: "image_builder", contractVersion: 99 } as never) as { contractVersion: number };
    expect(declared.contractVersion).toBe(99);
    expect(() => checkFlavor(declared, {})).toThrow(/Unsupported flavor contract version 99/);
  });
  test("no declared version: a flavor written before it was required, run as contract 1", () => {
    expect(checkFlavor(withVersion(undefined), {}).contractVersion).toBe(UNDECLARED_CONTRACT_VERSION);
    expect(checkFlavor(withVersion(1), {}).contractVersion).toBe(1);
    expect(checkFlavor(withVersion(CONTRACT_VERSION), {}).contractVersion).toBe(CONTRACT_VERSION);
  });
  test("every built-in flavor declares the current version", () => {
    for (const f of builtinFlavors) expect(f.contractVersion).toBe(CONTRACT_VERSION);
  });
  test("contract 1 builders still get options.dockerfile; contract 2 builders do not", () => {
    const options = defaultBuildOptions();
    expect(optionsForContract(1, options, "app.Dockerfile")).toEqual({ ...options, dockerfile: "app.Dockerfile" } as never);
    expect(optionsForContract(2, options, "app.Dockerfile")).toBe(options);
    expect("dockerfile" in options).toBe(false);
  });
});

describe("nodeKeys", () => {
  const withNodes = (nodeKeys: unknown, config: TObject = Type.Object({ endpoint: Type.String(), mode: Type.String() })) => ({ ...flavor(config), nodeKeys });
  test("keys of the flavor's own config are accepted (a custom flavor gets builder nodes too)", () => {
    expect(checkFlavor(withNodes(["endpoint"]), {}).nodeKeys).toEqual(["endpoint"]);
  });
  test("a key the config does not have, imgb's own node keys, or a config key imgb reads for nodes are refused", () => {
    expect(() => checkFlavor(withNodes(["endpiont"]), {})).toThrow(/'nodeKeys' must list keys of its config schema .*"endpiont" is not one/);
    expect(() => checkFlavor(withNodes(["platforms"], Type.Object({ platforms: Type.String() })), {})).toThrow(/"platforms" is not one/);
    expect(() => checkFlavor(withNodes(["endpoint"], Type.Object({ endpoint: Type.String(), nodes: Type.String() })), {})).toThrow("may not have a key 'nodes' of its own");
    expect(() => checkFlavor(withNodes("endpoint"), {})).toThrow(/'nodeKeys' must list/);
  });
});
