import { describe, expect, test } from "bun:test";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { containersPipelineFlags, containersProblems, dockerCacheFlags, dockerProblems, locatedProblems, ociProblems } from "./pipeline_options.ts";

const CACHE = "127.0.0.1:5000/team/app-cache";

describe("docker: registry cache and annotations", () => {
  test("BuildKit: --cache-from per ref, inline export as BUILDKIT_INLINE_CACHE=1", () => {
    const o = defaultBuildOptions({ cacheFrom: [`${CACHE}:main`, "127.0.0.1:5000/app:latest"], cacheTo: [{ type: "inline" }] });
    expect(dockerCacheFlags("buildkit", o)).toEqual(["--cache-from", `${CACHE}:main`, "--cache-from", "127.0.0.1:5000/app:latest", "--build-arg", "BUILDKIT_INLINE_CACHE=1"]);
    expect(dockerCacheFlags("buildkit", defaultBuildOptions())).toEqual([]);
    expect(dockerCacheFlags("classic", defaultBuildOptions({ cacheFrom: ["app:latest"] }))).toEqual(["--cache-from", "app:latest"]);
  });

  test("a registry export, any export with the classic builder, and annotations are refused", () => {
    expect(() => dockerCacheFlags("buildkit", defaultBuildOptions({ cacheTo: [{ type: "registry", ref: CACHE }] }))).toThrow("docker 20.10's built-in BuildKit cannot export a registry cache");
    expect(dockerProblems("classic", { cacheTo: [{ type: "inline" }] })[0]!.message).toContain("classic builder exports no build cache");
    expect(dockerProblems("buildkit", { annotations: { a: "b" } })[0]!.message).toContain("cannot set manifest annotations");
    expect(dockerProblems("buildkit", { cacheFrom: [CACHE], cacheTo: [{ type: "inline" }], annotations: {} })).toEqual([]);
  });
});

describe("podman/buildah: registry cache and annotations", () => {
  test("--cache-from/--cache-to with the repository, --annotation sorted", () => {
    const o = defaultBuildOptions({ cacheFrom: [CACHE], cacheTo: [{ type: "registry", ref: CACHE }], annotations: { z: "1", "org.opencontainers.image.source": "https://x" } });
    const flags = containersPipelineFlags("podman", true, "oci", o);
    expect(flags.slice(0, 8)).toEqual(["--cache-from", CACHE, "--cache-to", CACHE, "--annotation", "org.opencontainers.image.source=https://x", "--annotation", "z=1"]);
    // The label that keeps a cached last step from dropping them: one value per set of annotations.
    expect(flags[8]).toBe("--label");
    expect(flags[9]).toMatch(/^dev\.imgb\.annotations=sha256:[0-9a-f]{64}$/);
    const other = containersPipelineFlags("podman", true, "oci", defaultBuildOptions({ annotations: { z: "2" } }));
    expect(other[3]).not.toBe(flags[9]);
    expect(containersPipelineFlags("podman", true, "oci", defaultBuildOptions())).toEqual([]);
  });

  test("refused: without --layers, inline, a second repository, a tag, annotations in Docker format", () => {
    const msg = (layers: boolean, format: "oci" | "docker" | undefined, r: Parameters<typeof containersProblems>[3]) => containersProblems("buildah", layers, format, r).map((p) => `${p.key}/${p.index ?? ""}: ${p.message}`);
    expect(msg(false, "oci", { cacheFrom: [CACHE] })).toEqual(["cache_from/0: buildah ignores --cache-from without --layers, and the buildah flavor's `layers` is false"]);
    expect(msg(true, "oci", { cacheTo: [{ type: "inline" }] })[0]).toContain("has no inline cache");
    expect(msg(true, "oci", { cacheFrom: [CACHE, `${CACHE}2`] })).toEqual(["cache_from/1: buildah takes one --cache-from repository: this is entry 2"]);
    expect(msg(true, "oci", { cacheTo: [{ type: "registry", ref: `${CACHE}:v1` }] })[0]).toContain("must have no tag");
    expect(msg(true, "oci", { cacheFrom: ["127.0.0.1:5000/cache"] })).toEqual([]); // the port's colon is no tag
    expect(msg(true, "docker", { annotations: { a: "b" } })[0]).toContain("Annotations need the OCI image format");
    expect(msg(true, "oci", { annotations: { a: "b" } })).toEqual([]);
    expect(() => containersPipelineFlags("podman", false, "oci", defaultBuildOptions({ cacheTo: [{ type: "registry", ref: CACHE }] }))).toThrow("without --layers");
  });
});

test("oci: no cache to import or export; problems are located at their stack key", () => {
  const image = { name: "app", dockerfile: parseDockerfile("FROM scratch\n", "Dockerfile"), dockerfilePath: "Dockerfile", buildArgs: {}, platforms: [], extraFlags: [], stackFile: "/s/imgb.yaml", cacheTo: [{ type: "inline" as const }] };
  const [e] = locatedProblems(ociProblems(image), image);
  expect(e!.location).toEqual({ file: "/s/imgb.yaml", path: "/images/app/cache_to/0" });
  expect(e!.message).toContain("The oci flavor has no build cache to export");
});
