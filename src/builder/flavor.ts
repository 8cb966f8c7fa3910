import type { TObject, Static } from "@sinclair/typebox";
import type { Dockerfile } from "../dockerfile/parse.ts";
import type { InputError } from "../errors.ts";
import type { BaseImageBuilder, BuilderEnv } from "./base_image_builder.ts";
import type { CacheExport } from "./build_options.ts";

/**
 * The version of the flavor contract this imgb implements. A flavor declares the version it was
 * written against (`contractVersion`); imgb refuses one it does not support with a clear message
 * instead of failing later.
 *
 * 2: `BuildOptions.dockerfile` is gone (`buildContext.dockerfile` is the one Dockerfile path),
 *    `isBuildingLocally` is gone (read by nothing), `buildContextClass` may be undefined, and
 *    `defineFlavor` requires `contractVersion`.
 */
export const CONTRACT_VERSION = 2;

/**
 * The versions imgb still runs. 1 (also: no `contractVersion` at all, the flavors written before
 * it was required) is compatible: its builders get `BuildOptions.dockerfile` as before.
 */
export const SUPPORTED_CONTRACT_VERSIONS: readonly number[] = [1, 2];

/** A flavor object without `contractVersion` was written against contract 1. */
export const UNDECLARED_CONTRACT_VERSION = 1;

/**
 * The build options as a builder of contract `version` reads them: contract 1 builders may read
 * `options.dockerfile`, so they get it, equal to `buildContext.dockerfile`.
 */
export function optionsForContract<O extends object>(version: number, options: O, dockerfile: string): O {
  return version < 2 ? { ...options, dockerfile } : options;
}

export type FlavorType = "image_builder";

/** What a node of `nodes:` sets besides the flavor's `nodeKeys`: its name and its platforms. */
export const NODE_OWN_KEYS: readonly string[] = ["name", "platforms"];

/** The keys imgb adds to the config of a flavor with `nodeKeys`: the nodes and the emulation policy. */
export const NODES_CONFIG_KEYS: readonly string[] = ["nodes", "emulation"];

/** Result of a probe: is the engine usable here? `reason` says why not, `hint` how to fix it. */
export interface ProbeResult {
  available: boolean;
  reason?: string;
  hint?: string;
  /** The engine's version when it answers (`imgb builders` shows it). */
  version?: string;
  /**
   * The platforms the engine runs natively (`os/arch[/variant]`), when it can tell: where a node
   * declares no `platforms`, the scheduler sends it images of these platforms only.
   */
  platforms?: string[];
}

/**
 * What a flavor can build, declared so that `imgb validate` refuses what the build would
 * (a missing key means "yes, or the builder decides at build time").
 */
export interface FlavorCapabilities {
  /** Several `platforms` into one image (a manifest list). */
  multiPlatform?: boolean;
  /** Dockerfile `RUN` instructions (needs a container runtime). */
  run?: boolean;
  // Registry cache and annotations (issue #13): keys newer than the flavors written before them,
  // so here a missing key means "no" — a flavor that never heard of them would drop them silently.
  /** The builder maps `cacheFrom`/`cacheTo`, and its `staticCheck` refuses the forms it cannot. */
  registryCache?: boolean;
  /** The builder maps `annotations`, and its `staticCheck` refuses them where it cannot. */
  annotations?: boolean;
  /** Build secrets (`secrets`, for `RUN --mount=type=secret`). */
  secrets?: boolean;
  /** SSH forwarding (`ssh`, for `RUN --mount=type=ssh`). */
  ssh?: boolean;
}

/** One image of a stack as a flavor's `staticCheck` sees it: its parsed Dockerfile and options. */
export interface StaticImage {
  name: string;
  dockerfile: Dockerfile;
  /** Where the Dockerfile is: its file, or the stack file for an inline one. */
  dockerfilePath: string;
  buildArgs: Readonly<Record<string, string>>;
  platforms: readonly string[];
  target?: string;
  extraFlags: readonly string[];
  // Registry cache and annotations (issue #13, items 3 and 4). A refusal of one of these is
  // located at its key: `{ file: stackFile, path: "/images/NAME/cache_to/0" }`.
  /** The stack file, where `cache_from`, `cache_to` and `annotations` are written. */
  stackFile?: string;
  cacheFrom?: readonly string[];
  cacheTo?: readonly CacheExport[];
  annotations?: Readonly<Record<string, string>>;
  /** Ids of the image's build secrets. */
  secrets?: readonly string[];
  /** Ids of the image's ssh forwards. */
  ssh?: readonly string[];
  /** The stack's `container_registry.uri` when it has one (the build pushes there); missing: a local build. */
  containerRegistry?: string;
}

/**
 * One problem a flavor's `validate` hook found in a config: a message, and where in the config it
 * is (a JSON pointer relative to `image_builder.config`, e.g. `/docker/host`; none: the config as
 * a whole). imgb reports it at that key's file:line:col.
 */
export interface ConfigProblem {
  message: string;
  path?: string;
  hint?: string;
}

/** A builder class constructor as a flavor's implementation loader returns it. */
export type ImageBuilderClass<Schema extends TObject> = new (
  config: Static<Schema>,
  env: BuilderEnv,
) => BaseImageBuilder<Static<Schema>>;

/**
 * A flavor: everything imgb needs to validate a stack that uses it, with the implementation
 * behind a lazy loader so validation never imports engine code.
 */
export interface Flavor<Schema extends TObject = TObject> {
  /** Contract version the flavor was written against (`CONTRACT_VERSION` when it was written). */
  contractVersion: number;
  /** Unique name, used as `image_builder.flavor` in stack files. Lowercase, `[a-z][a-z0-9_-]*`. */
  name: string;
  type: FlavorType;
  /** One sentence shown by `imgb flavor list`. */
  description: string;
  /** TypeBox schema of the flavor's `config`. Unknown keys are rejected. */
  config: Schema;
  /**
   * Engine-specific flags the flavor accepts in `build_options.extra_flags` (the escape hatch),
   * e.g. `["--squash", "--secret"]`. Anything not listed is rejected at validation time.
   */
  extraFlags?: readonly string[];
  /**
   * The config keys that say which engine to connect to (docker: `host`, `tls_verify`,
   * `cert_path`…), which each of several builder nodes may set: with them, a stack's config may
   * list `nodes: [{ host: …, platforms: […] }, …]` and imgb makes one builder per node, each
   * with the shared config and that node's keys. They never enter the image checksum. Missing:
   * the flavor has no nodes.
   */
  nodeKeys?: readonly string[];
  /** What it can build; checked statically by `imgb validate` and before `imgb build` starts. */
  capabilities?: FlavorCapabilities;
  /**
   * Does a build with this config push to the stack's container_registry? Missing means yes. A
   * flavor that can write elsewhere (oci's `output: oci-layout:DIR`) answers no, and imgb then
   * checks the registry before the first build only when a base image comes from it.
   */
  pushesToRegistry?(config: Static<Schema>): boolean;
  /**
   * What this flavor, with this config, would refuse to build in `image`: the InputErrors its
   * build would end with, found by `imgb validate` and before `imgb build` starts. For what
   * depends on the config (a `format` that cannot hold an instruction); plain yes/no limits are
   * `capabilities`. Cheap and engine-free: it must not run anything. An error about a stack key
   * rather than the Dockerfile carries `location: { path: JSON_POINTER }` and no file: imgb
   * puts it at that key of the stack file.
   */
  staticCheck?(config: Static<Schema>, image: StaticImage): Promise<InputError[]>;
  /**
   * Checks of the config beyond what its schema can say (ZenML's pydantic validators): keys
   * that exclude each other, a value that depends on another. Runs on a config that already
   * passed the schema, defaults filled in, at every stack load (`imgb validate`, `imgb build`, …);
   * `imgb flavor register` calls it once on the schema's defaults, to refuse a hook that throws.
   * Returns the problems: plain messages (about the whole config) or `{ message, path }`, with
   * `path` a JSON pointer into the config. Cheap and engine-free, like `staticCheck`.
   */
  validate?(config: Static<Schema>): readonly (string | ConfigProblem)[] | Promise<readonly (string | ConfigProblem)[]>;
  /** Is the engine usable here? Cheap; must not build anything. */
  probe?(config: Static<Schema>): Promise<ProbeResult>;
  /** Load the implementation. Called only when a build needs it. */
  implementation(): Promise<ImageBuilderClass<Schema>>;
}

/**
 * Identity helper: gives a flavor file full type inference. It stamps nothing: the flavor
 * declares the contract version it was written against, so imgb can refuse one it does not
 * support (see CONTRACT_VERSION).
 *
 *   export default defineFlavor({ contractVersion: 2, name: "kaniko", type: "image_builder",
 *     config: Type.Object({…}), implementation: async () => (await import("./kaniko_builder.ts")).KanikoBuilder })
 */
export function defineFlavor<Schema extends TObject>(flavor: Flavor<Schema>): Flavor<Schema> {
  return flavor;
}

/**
 * A flavor of any config type, as the registry holds them. The config type is erased on purpose:
 * a builder's constructor takes its own config (contravariant), so flavors of different configs
 * are not assignable to one `Flavor<TObject>`; the registry validates config against the schema
 * at run time instead.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type AnyFlavor = Flavor<any>;
