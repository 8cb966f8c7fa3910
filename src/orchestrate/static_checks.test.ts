import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../builder/flavor.ts";
import type { ResolvedImage, ResolvedStack } from "../stack/model.ts";
import { staticChecks } from "./static_checks.ts";

const image = (over: Partial<ResolvedImage>): ResolvedImage => ({
  name: "app", dockerfileInline: "FROM scratch\n", buildArgs: {}, platforms: [], labels: {}, tags: [], extraFiles: [], dependsOn: [], noCache: false, pull: false, extraFlags: [],
  cacheFrom: [], cacheTo: [], annotations: {}, secrets: [], ssh: [],
  ...over,
});
const stack = (img: ResolvedImage): ResolvedStack => ({ file: "/s/imgb.yaml", dir: "/s", imageBuilder: { flavor: "mine", config: {} }, flavorSources: [], images: { app: img } });
const flavor = (capabilities = {}) =>
  defineFlavor({ contractVersion: 2, name: "mine", type: "image_builder", description: "x", config: Type.Object({}), capabilities, implementation: async () => { throw new Error("not loaded"); } });

describe("static checks: registry cache and annotations on a flavor that does not declare them", () => {
  test("a flavor written before these keys is refused for each, at the key, instead of dropping them", async () => {
    const img = image({ cacheFrom: ["127.0.0.1:5000/c"], cacheTo: [{ type: "inline" }], annotations: { a: "b" } });
    const errors = await staticChecks(stack(img), flavor());
    expect(errors.map((e) => e.location?.path)).toEqual(["/images/app/cache_from", "/images/app/cache_to", "/images/app/annotations"]);
    expect(errors[0]!.message).toBe("The 'mine' flavor does not support 'cache_from' (image 'app'): it does not declare capabilities.registryCache");
  });

  test("declared, or not used: nothing to refuse here", async () => {
    expect(await staticChecks(stack(image({ cacheFrom: ["127.0.0.1:5000/c"], annotations: { a: "b" } })), flavor({ registryCache: true, annotations: true }))).toEqual([]);
    expect(await staticChecks(stack(image({})), flavor())).toEqual([]);
  });
});

describe("static checks with builder nodes", () => {
  test("each node's config is checked (a podman service node cannot forward ssh), an error said once", async () => {
    const podman = (await import("../../flavors/podman/flavor.ts")).default;
    const img = image({ ssh: [{ id: "default" }] });
    const local = { ...stack(img), imageBuilder: { flavor: "podman", config: { binary: "podman", layers: true, format: "auto" } } };
    expect(await staticChecks(local, podman)).toEqual([]);
    const nodes = [{ name: "a", config: { ...local.imageBuilder.config, url: "unix:///a.sock" } }, { name: "b", config: { ...local.imageBuilder.config, url: "unix:///b.sock" } }];
    const errors = await staticChecks({ ...local, imageBuilder: { ...local.imageBuilder, nodes } }, podman);
    expect(errors.map((e) => [e.code, e.location?.path])).toEqual([["build.ssh-unsupported", "/images/app/ssh"]]);
  });
});
