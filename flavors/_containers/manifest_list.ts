/**
 * The local manifest list of a multi-platform podman/buildah build: named after the image,
 * created over the per-platform images once all of them built (`manifest create LIST
 * containers-storage:ID…`, which reads each image's os/architecture/variant from its config),
 * and what the list holds (`manifest inspect`). Only for a build without a registry: with one,
 * each platform is pushed as it is built and imgb assembles the index in the registry
 * (multi_platform.ts, buildAndPushPlatforms).
 */
import { RuntimeError } from "../../src/errors.ts";
import { platformString, type Platform } from "../../src/platform.ts";
import type { ContainersPushPlan } from "./push.ts";

export interface ManifestListEngine extends ContainersPushPlan {
  /** The image ID `reference` names in the engine's storage, or undefined. */
  localImageId(reference: string): Promise<string | undefined>;
  /** The argv that takes the name `name` off the image it names (podman `untag`, buildah `rmi`). */
  untagArgv(name: string): string[];
}

/** Runs `argv` without logging its output and without failing: for clean-up and probes. */
async function quietly(engine: ManifestListEngine, argv: string[], cancellable = true): Promise<boolean> {
  const silent = () => {};
  try {
    await engine.run(argv, { onStdout: silent, onStderr: silent, ...(cancellable ? {} : { signal: undefined }) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Frees `name` for a new list. `build --manifest` adds to a list that exists, so a list left by
 * an earlier build would keep that build's entries: it is removed (its images stay, untagged,
 * like the image a rebuild with `-t` moves the tag away from). A plain image of that name (an
 * earlier single-platform build) loses the name only.
 */
export async function freeListName(engine: ManifestListEngine, name: string): Promise<void> {
  await quietly(engine, [...engine.prefix, "manifest", "rm", name]);
  if (await engine.localImageId(name)) await engine.run(engine.untagArgv(name));
}

/** Removes the list `name` (not its images), whatever happened: also after a cancel. */
export async function removeList(engine: ManifestListEngine, name: string): Promise<void> {
  await quietly(engine, [...engine.prefix, "manifest", "rm", name], false);
}

/**
 * The argv that creates the list `name` over the local images `imageIds` (`sha256:…`), in that
 * order. The transport is explicit and the ID bare: podman 4.3 and buildah 1.28 read a bare
 * `sha256:…` as an image name (`docker.io/library/sha256:…`), and a name could be another
 * build's by the time the list is made; an ID is the image just built.
 */
export function manifestCreateArgv(prefix: readonly string[], name: string, imageIds: readonly string[]): string[] {
  return [...prefix, "manifest", "create", name, ...imageIds.map((id) => `containers-storage:${id.replace(/^sha256:/, "")}`)];
}

/** Platform (`os/arch[/variant]`) -> manifest digest, from an index or manifest list document. */
export function indexPlatforms(document: unknown): Record<string, string> {
  const manifests = (document as { manifests?: { digest?: string; platform?: Platform }[] })?.manifests ?? [];
  const out: Record<string, string> = {};
  for (const m of manifests) if (m.platform?.os && m.platform.architecture && m.digest) out[platformString(m.platform)] = m.digest;
  return out;
}

/** What the local list `name` holds: platform -> digest of the local manifest. */
export async function localListPlatforms(engine: ManifestListEngine, name: string): Promise<Record<string, string>> {
  const { stdout } = await engine.run([...engine.prefix, "manifest", "inspect", name], { onStdout: () => {} });
  try {
    return indexPlatforms(JSON.parse(stdout));
  } catch {
    throw new RuntimeError("build.no-digest", `The engine printed no manifest list for '${name}': ${JSON.stringify(stdout.slice(0, 80))}`);
  }
}
