/**
 * The SDK: what a user's flavor file imports as `import { … } from "imgb"`. Inside the compiled
 * binary there is no node_modules, so this module is served by a runtime plugin
 * (src/plugins/sdk_module.ts) as the virtual module `imgb`; in this repository `imgb` maps to
 * this file through tsconfig paths, for types and editors.
 *
 * Everything here is part of the flavor contract (CONTRACT_VERSION): change it compatibly.
 */
export { Type, Kind, FormatRegistry, TypeRegistry } from "@sinclair/typebox";
export type { Static, TObject, TSchema } from "@sinclair/typebox";
export { BaseImageBuilder, quietBuilderEnv } from "./builder/base_image_builder.ts";
export type { BuilderEnv, BuildReport } from "./builder/base_image_builder.ts";
export type { BuildContextClass, ImageBuildContext } from "./builder/build_context.ts";
export { defaultBuildOptions } from "./builder/build_options.ts";
export type { BuildOptions } from "./builder/build_options.ts";
export { registryHost, stripTag, targetRepository } from "./image/name.ts";
export type { ContainerRegistry, RegistryCredentials } from "./builder/container_registry.ts";
export { CONTRACT_VERSION, defineFlavor } from "./builder/flavor.ts";
export { OUTPUT_KEY } from "./builder/output_keys.ts";
export type { ConfigProblem, Flavor, FlavorCapabilities, FlavorType, ImageBuilderClass, ProbeResult, StaticImage } from "./builder/flavor.ts";
export { BuildContext } from "./context/build_context.ts";
export type { ArchiveOptions, ArchiveSink, BuildContextOptions, ContextEntry } from "./context/build_context.ts";
export { readSnapshotFile } from "./context/snapshot_file.ts";
export type { FileIdentity } from "./context/snapshot_file.ts";
export { exec, ExecError, quoteCommand } from "./exec.ts";
export type { ExecOptions, ExecResult } from "./exec.ts";
export { CancelledError, ImgbError, InputError, RuntimeError } from "./errors.ts";
export { Secret } from "./secret.ts";

import type { BaseImageBuilder as BaseImageBuilderClass } from "./builder/base_image_builder.ts";
import type { BuildOptions as BuildOptionsType } from "./builder/build_options.ts";
import type { ContainerRegistry as ContainerRegistryType } from "./builder/container_registry.ts";
import type { BuildContext as BuildContextClass } from "./context/build_context.ts";
import type { BuiltinEngineName } from "./catalog/builtins.ts";

/**
 * A built-in engine builder as a type: every abstract member implemented, and the optional
 * reuse hooks too (every engine has them), so subclasses may call super.
 */
declare class EngineBuilder extends BaseImageBuilderClass<any> {
  build(imageName: string, buildContext: BuildContextClass, buildOptions: BuildOptionsType, containerRegistry?: ContainerRegistryType): Promise<string>;
  localImageId(reference: string): Promise<string | undefined>;
  tagImage(source: string, targets: readonly string[]): Promise<void>;
}

/**
 * The builder class of a built-in flavor, to wrap or extend an engine in a custom flavor:
 *   const Docker = await builtinBuilder("docker");
 *   class MyBuilder extends Docker { … }
 */
export async function builtinBuilder(name: BuiltinEngineName): Promise<typeof EngineBuilder> {
  const { builtinFlavors } = await import("./catalog/builtins.ts");
  const flavor = builtinFlavors.find((f) => f.name === name);
  if (!flavor) throw new Error(`No built-in flavor '${name}'`);
  return (await flavor.implementation()) as unknown as typeof EngineBuilder;
}
