import { describe, expect, test } from "bun:test";
import { MediaType, sha256 } from "./image.ts";
import { indexPlatforms, platformIndex } from "./platform_index.ts";

const entry = (mediaType: string, digest: string, architecture: string, variant?: string) => ({
  descriptor: { mediaType, digest: `sha256:${digest.repeat(64)}`, size: 735 },
  platform: variant ? { os: "linux", architecture, variant } : { os: "linux", architecture },
});

describe("platformIndex", () => {
  test("Docker manifests make a Docker manifest list, in the order given, with each platform; the digest is of the bytes", () => {
    const { bytes, descriptor } = platformIndex([entry(MediaType.dockerManifest, "a", "amd64"), entry(MediaType.dockerManifest, "b", "arm", "v7")]);
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    expect(doc).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.dockerList,
      manifests: [
        { mediaType: MediaType.dockerManifest, digest: `sha256:${"a".repeat(64)}`, size: 735, platform: { architecture: "amd64", os: "linux" } },
        { mediaType: MediaType.dockerManifest, digest: `sha256:${"b".repeat(64)}`, size: 735, platform: { architecture: "arm", os: "linux", variant: "v7" } },
      ],
    });
    expect(descriptor).toEqual({ mediaType: MediaType.dockerList, digest: sha256(bytes), size: bytes.length });
  });

  test("any OCI manifest makes an OCI index; annotations go on it sorted", () => {
    const { bytes, descriptor } = platformIndex([entry(MediaType.dockerManifest, "a", "amd64"), entry(MediaType.ociManifest, "b", "arm64")], { z: "1", a: "2" });
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    expect(descriptor.mediaType).toBe(MediaType.ociIndex);
    expect(doc.mediaType).toBe(MediaType.ociIndex);
    expect(Object.keys(doc.annotations)).toEqual(["a", "z"]);
  });

  test("the same entries give the same bytes; two entries for one platform are refused", () => {
    const entries = [entry(MediaType.dockerManifest, "a", "amd64"), entry(MediaType.dockerManifest, "b", "arm64")];
    expect(platformIndex(entries).descriptor.digest).toBe(platformIndex(entries).descriptor.digest);
    expect(() => platformIndex([entry(MediaType.dockerManifest, "a", "amd64"), entry(MediaType.dockerManifest, "b", "amd64")])).toThrow("Two manifests for platform linux/amd64 in one index");
  });

  test("indexPlatforms reads the entries back; a single manifest or non-JSON has none", () => {
    const { bytes } = platformIndex([entry(MediaType.dockerManifest, "a", "amd64"), entry(MediaType.dockerManifest, "b", "arm", "v7")]);
    expect(indexPlatforms(bytes)).toEqual({ "linux/amd64": `sha256:${"a".repeat(64)}`, "linux/arm/v7": `sha256:${"b".repeat(64)}` });
    expect(indexPlatforms(new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] })))).toBeUndefined();
    expect(indexPlatforms(new TextEncoder().encode("not json"))).toBeUndefined();
  });
});
