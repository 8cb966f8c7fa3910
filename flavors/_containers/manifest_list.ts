/**
 * The local manifest list of a multi-platform podman/buildah build: named after the image,
 * created over the per-platform images once all of them built (`manifest create LIST
 * containers-storage:ID…`, which reads each image's os/architecture/variant from its config),
 * pushed with `manifest push --all` to every destination tag. Also what the list holds, locally (`manifest inspect`) and once pushed
 * (the index the registry serves: pushing re-compresses layers, so the per-platform manifest
 * digests in the registry are not the local ones). Annotations reach the index through the
 * registry API: podman 4.3 / buildah 1.28 put `--annotation` on each image's manifest only.
 */
import { join } from "node:path";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { RuntimeError } from "../../src/errors.ts";
import { inRegistry } from "../../src/image/name.ts";
import { registryClient } from "../../src/image/remote/client.ts";
import { platformString, type Platform } from "../../src/platform.ts";
import { explainFailure } from "../_engine/failure.ts";
import { readDigestFile } from "../_engine/files.ts";
import type { ImageReferences } from "../_engine/references.ts";
import { tagOf } from "../_engine/references.ts";
import type { ContainersPushPlan } from "./push.ts";
import { registryManifestDigest } from "./registry_digest.ts";

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

/**
 * Pushes the list `list` and its images to every reference (`manifest push --all`), as an OCI
 * index (OCI images) or a Docker manifest list (Docker-format images: how buildx pairs them);
 * returns the digest of the primary reference's index.
 */
export async function pushManifestList(plan: ContainersPushPlan, registry: ContainerRegistry, list: string, refs: ImageReferences, format: "oci" | "docker", tmp: string, flags: readonly string[]): Promise<string> {
  let digest: string | undefined;
  for (const [i, ref] of refs.all.entries()) {
    const digestfile = join(tmp, `list-digest-${i}`);
    const argv = [...plan.prefix, "manifest", "push", "--all", "--format", format === "docker" ? "v2s2" : "oci", ...flags];
    if (plan.digestFile) argv.push("--digestfile", digestfile);
    argv.push(list, `docker://${ref}`);
    try {
      await plan.run(argv);
    } catch (e) {
      throw explainFailure(e, "push", `'${ref}'`, plan.where);
    }
    if (ref !== refs.primary) continue;
    digest = plan.digestFile ? await readDigestFile(digestfile, "manifest list digest") : await registryManifestDigest(registry, refs.repository!, tagOf(ref), plan.signal);
  }
  return digest!;
}

/** The entries of the index `repository@digest` as the registry serves it: platform -> manifest digest. */
export async function pushedPlatforms(registry: ContainerRegistry, repository: string, digest: string, signal?: AbortSignal): Promise<Record<string, string>> {
  const name = inRegistry(registry, repository);
  if (!name) throw new RuntimeError("push.no-digest", `Pushed '${repository}@${digest}' but it is not in the stack's registry ${registry.uri}: its platforms cannot be read`);
  const { bytes } = await registryClient(registry, signal).manifestGet(name.repository, digest);
  return indexPlatforms(JSON.parse(new TextDecoder().decode(bytes)));
}

/**
 * Puts `annotations` on the pushed index `repository@digest` and points every reference at the
 * annotated index; returns its digest. The engines cannot annotate the index itself: imgb
 * fetches the index they pushed, adds the annotations (sorted, over any it has) and PUTs it
 * under each tag, so no blob moves and the entries stay as pushed.
 */
export async function annotateIndex(registry: ContainerRegistry, refs: ImageReferences, digest: string, annotations: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<string> {
  const name = inRegistry(registry, refs.repository!);
  if (!name) throw new RuntimeError("push.no-digest", `Pushed '${refs.repository}@${digest}' but it is not in the stack's registry ${registry.uri}: its index cannot be annotated`);
  const client = registryClient(registry, signal);
  const { bytes, mediaType } = await client.manifestGet(name.repository, digest);
  const index = JSON.parse(new TextDecoder().decode(bytes)) as { annotations?: Record<string, string> };
  const merged = { ...(index.annotations ?? {}), ...annotations };
  index.annotations = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]!]));
  const annotated = new TextEncoder().encode(JSON.stringify(index));
  for (const ref of refs.all) await client.manifestPut(name.repository, tagOf(ref), annotated, mediaType);
  return `sha256:${new Bun.CryptoHasher("sha256").update(annotated).digest("hex")}`;
}
