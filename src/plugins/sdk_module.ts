/**
 * Serves `import … from "imgb"` (and `@sinclair/typebox`) to user flavor files at run time.
 * A compiled binary has no node_modules to resolve bare imports from, so a Bun runtime plugin
 * maps these names to the binary's own modules. Installed once, before the first user import.
 */
import * as typebox from "@sinclair/typebox";
import * as sdk from "../sdk.ts";

let installed = false;

export function installSdkModule(): void {
  if (installed) return;
  installed = true;
  Bun.plugin({
    name: "imgb-sdk",
    setup(build) {
      build.module("imgb", () => ({ exports: { ...sdk }, loader: "object" }));
      build.module("@sinclair/typebox", () => ({ exports: { ...typebox }, loader: "object" }));
    },
  });
}
