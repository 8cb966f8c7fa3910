/**
 * The SDK offers what docs/custom-flavor.md tells a flavor author to import: every name in the
 * guide's `from "imgb"` imports and its list of exports, values at run time, types in sdk.ts's
 * `export type` lists (and through tsc, by the uses below).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as sdk from "./sdk.ts";
import type { FileIdentity, FlavorCapabilities } from "./sdk.ts";

const guide = readFileSync(join(import.meta.dir, "../docs/custom-flavor.md"), "utf8");
const source = readFileSync(join(import.meta.dir, "sdk.ts"), "utf8");
const typeExports = new Set([...source.matchAll(/export type \{([^}]+)\}/g)].flatMap((m) => m[1]!.split(",").map((n) => n.trim())));

/** `import { A, type B } from "imgb"` in the guide's code: [name, isType]. */
function guideImports(): [string, boolean][] {
  const out: [string, boolean][] = [];
  for (const m of guide.matchAll(/import\s+(type\s+)?\{([^}]+)\}\s+from\s+"imgb"/g)) {
    for (const raw of m[2]!.split(",")) {
      const name = raw.trim();
      if (name === "") continue;
      const isType = m[1] !== undefined || name.startsWith("type ");
      out.push([name.replace(/^type\s+/, ""), isType]);
    }
  }
  return out;
}

describe("the SDK and the custom flavor guide", () => {
  test("every name the guide imports from imgb is exported", () => {
    const imports = guideImports();
    expect(imports.length).toBeGreaterThan(5);
    for (const [name, isType] of imports) {
      if (isType) expect({ name, exported: typeExports.has(name) || name in sdk }).toEqual({ name, exported: true });
      else expect({ name, exported: name in sdk }).toEqual({ name, exported: true });
    }
  });

  test("the guide's list of what the module offers, and the types a flavor declares with", () => {
    for (const name of ["Type", "defineFlavor", "BaseImageBuilder", "BuildContext", "exec", "InputError", "RuntimeError", "Secret", "targetRepository", "builtinBuilder", "readSnapshotFile"]) {
      expect({ name, exported: name in sdk }).toEqual({ name, exported: true });
    }
    for (const name of ["FlavorCapabilities", "FileIdentity", "Flavor", "ProbeResult", "BuilderEnv", "BuildReport", "ContextEntry"]) {
      expect({ name, exported: typeExports.has(name) }).toEqual({ name, exported: true });
    }
    // Checked by tsc: a flavor author can name these.
    const caps: FlavorCapabilities = { multiPlatform: false, run: false };
    const identity: FileIdentity | undefined = undefined;
    expect([caps.run, identity]).toEqual([false, undefined]);
  });

  test("a built-in engine's reuse hooks (localImageId, tagImage) are there for a subclass to call", async () => {
    for (const name of ["docker", "podman", "buildah"] as const) {
      const Engine = await sdk.builtinBuilder(name);
      expect(typeof Engine.prototype.localImageId).toBe("function");
      expect(typeof Engine.prototype.tagImage).toBe("function");
    }
    // Checked by tsc: without the hooks in the engine type, `super.tagImage` is "possibly undefined".
    const Docker = await sdk.builtinBuilder("docker");
    class Retagging extends Docker {
      override async tagImage(source: string, targets: readonly string[]): Promise<void> {
        await super.tagImage(source, targets.filter((t) => t !== source));
      }
      override localImageId(reference: string): Promise<string | undefined> {
        return super.localImageId(reference);
      }
    }
    expect(typeof Retagging.prototype.tagImage).toBe("function");
  });
});
