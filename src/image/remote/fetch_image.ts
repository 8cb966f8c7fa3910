/**
 * A FROM image fetched over the distribution API: the manifest for the requested platform
 * (picked from an index when the base is multi-platform), its config, and its layers as
 * descriptors paired with their diff_ids. Layers are not downloaded here: a push may mount or
 * skip them; they are fetched only when an output or a COPY --from needs their bytes.
 */
import { RuntimeError } from "../../errors.ts";
import { formatReference, parseReference, referenceTarget } from "../name.ts";
import { isIndex, MediaType, sha256, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from "../image.ts";
import type { Registries, RemoteBlob } from "./registries.ts";
import { platformString, type Platform } from "../../platform.ts";

export interface BaseLayer {
  descriptor: Descriptor;
  diffId: string;
  remote: RemoteBlob;
}

export interface BaseImage {
  reference: string;
  config: ImageConfig;
  layers: BaseLayer[];
  /** The base is an index (multi-platform): the output becomes an index too. */
  multiPlatform: boolean;
}

export function scratchConfig(platform: Platform): ImageConfig {
  const c: ImageConfig = { architecture: platform.architecture, os: platform.os, config: {}, rootfs: { type: "layers", diff_ids: [] }, history: [] };
  if (platform.variant) c.variant = platform.variant;
  return c;
}

/** Does a descriptor's platform match? An unspecified variant accepts any. */
export function platformMatches(p: Descriptor["platform"], want: Platform): boolean {
  if (!p || p.os !== want.os || p.architecture !== want.architecture) return false;
  return want.variant === undefined || p.variant === want.variant || (want.architecture === "arm64" && want.variant === "v8" && !p.variant);
}

export async function fetchBase(text: string, platform: Platform, registries: Registries): Promise<BaseImage> {
  const ref = parseReference(text);
  const client = registries.client(ref.host);
  const name = formatReference(ref);
  let { bytes, mediaType } = await client.manifestGet(ref.repository, referenceTarget(ref));
  if (ref.digest && sha256(bytes) !== ref.digest) throw new RuntimeError("oci.base-digest", `Manifest of ${name} does not match its digest`);
  let multiPlatform = false;
  let doc = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest | ImageIndex;
  mediaType ||= doc.mediaType;
  if (isIndex(mediaType) || "manifests" in doc) {
    multiPlatform = true;
    const candidates = (doc as ImageIndex).manifests.filter((m) => platformMatches(m.platform, platform));
    const chosen = candidates.find((m) => m.platform?.variant === platform.variant) ?? candidates[0];
    if (!chosen) {
      const offered = (doc as ImageIndex).manifests.map((m) => (m.platform ? platformString(m.platform) : "?")).join(", ");
      throw new RuntimeError("oci.base-platform", `Base image ${name} has no ${platformString(platform)} image: it offers ${offered || "none"}`, { hint: "set the image's platforms or the flavor's platform" });
    }
    ({ bytes, mediaType } = await client.manifestGet(ref.repository, chosen.digest));
    doc = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest;
  }
  const manifest = doc as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new RuntimeError("oci.base-manifest", `Base image ${name} has a manifest imgb cannot read (${mediaType || "no media type"}): only OCI and Docker schema 2 images are supported`);
  }
  const config = JSON.parse(new TextDecoder().decode(await client.blobBytes(ref.repository, manifest.config.digest))) as ImageConfig;
  if (!multiPlatform && (config.os !== platform.os || config.architecture !== platform.architecture)) {
    throw new RuntimeError("oci.base-platform", `Base image ${name} is ${config.os}/${config.architecture}, not ${platformString(platform)}`, { hint: "set the image's platforms or the flavor's platform to match the base" });
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw new RuntimeError("oci.base-manifest", `Base image ${name} has ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`);
  const layers = manifest.layers.map((d, i): BaseLayer => {
    if (d.mediaType !== MediaType.ociLayerGzip && d.mediaType !== MediaType.dockerLayerGzip) {
      throw new RuntimeError("oci.base-layer", `Base image ${name} has a layer of type ${d.mediaType}: the oci flavor handles gzip layers only`);
    }
    // Same bytes, OCI name: the output manifest is OCI throughout.
    return { descriptor: { mediaType: MediaType.ociLayerGzip, digest: d.digest, size: d.size }, diffId: diffIds[i]!, remote: { host: ref.host, repository: ref.repository } };
  });
  return { reference: name, config, layers, multiPlatform };
}
