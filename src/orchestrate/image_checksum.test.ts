import { describe, expect, test } from "bun:test";
import { defaultBuildOptions } from "../builder/build_options.ts";
import { canonical, CHECKSUM_VERSION, imageChecksum, type ChecksumInputs } from "./image_checksum.ts";

const inputs = (over: Partial<ChecksumInputs> = {}, options = {}): ChecksumInputs => ({
  contextDigest: "sha256:aa",
  dockerfile: "Dockerfile",
  options: defaultBuildOptions({ buildArgs: { A: "1" }, ...options }),
  flavor: "docker",
  flavorConfig: { binary: "docker" },
  destination: "127.0.0.1:5000/app",
  ...over,
});

describe("imageChecksum", () => {
  test("tags and no_cache are not inputs: the same image under other tags has the same checksum", () => {
    const base = imageChecksum(inputs());
    expect(imageChecksum(inputs({}, { tags: ["latest", "abc123"] }))).toBe(base);
    expect(imageChecksum(inputs({}, { tags: ["def456"] }))).toBe(base);
    expect(imageChecksum(inputs({}, { noCache: true }))).toBe(base);
  });

  test("registry cache refs are not inputs; an inline cache export and annotations are", () => {
    const base = imageChecksum(inputs());
    expect(imageChecksum(inputs({}, { cacheFrom: ["127.0.0.1:5000/cache"], cacheTo: [{ type: "registry", ref: "127.0.0.1:5000/cache" }] }))).toBe(base);
    expect(imageChecksum(inputs({}, { annotations: {} }))).toBe(base); // records made before the key existed still match
    expect(imageChecksum(inputs({}, { cacheTo: [{ type: "inline" }] }))).not.toBe(base);
    expect(imageChecksum(inputs({}, { annotations: { a: "1" } }))).not.toBe(base);
    expect(imageChecksum(inputs({}, { annotations: { a: "2" } }))).not.toBe(imageChecksum(inputs({}, { annotations: { a: "1" } })));
  });

  test("what changes the image or where it goes changes the checksum", () => {
    const base = imageChecksum(inputs());
    expect(imageChecksum(inputs({}, { buildArgs: { A: "2" } }))).not.toBe(base);
    expect(imageChecksum(inputs({ destination: "127.0.0.1:5000/other" }))).not.toBe(base);
    expect(imageChecksum(inputs({ contextDigest: "sha256:bb" }))).not.toBe(base);
    expect(imageChecksum(inputs({ bases: { busybox: "sha256:cc" } }))).not.toBe(base);
    expect(imageChecksum(inputs({ dockerfile: "other.Dockerfile" }))).not.toBe(base);
  });

  test("secrets and ssh forwards enter by id only: not where the value comes from (nor the value, which imgb never holds)", () => {
    const base = imageChecksum(inputs());
    const withSecret = imageChecksum(inputs({}, { secrets: [{ id: "tok", env: "A" }], ssh: [{ id: "default" }] }));
    expect(withSecret).not.toBe(base);
    expect(imageChecksum(inputs({}, { secrets: [{ id: "tok", file: "/x/y" }], ssh: [{ id: "default", path: "/agent" }] }))).toBe(withSecret);
    expect(imageChecksum(inputs({}, { secrets: [{ id: "other", env: "A" }], ssh: [{ id: "default" }] }))).not.toBe(withSecret);
    expect(imageChecksum(inputs({}, { secrets: [{ id: "tok", env: "A" }] }))).not.toBe(withSecret);
    // None at all: the checksum of before (records made without the keys stay valid).
    expect(imageChecksum(inputs({}, { secrets: [], ssh: [] }))).toBe(base);
  });

  test("the Dockerfile path (no longer a build option) keeps its place: records made before stay valid", () => {
    // The document as imgb hashed it when BuildOptions still had `dockerfile`.
    const before = {
      v: 3,
      context: "sha256:aa",
      ignore: null,
      options: { dockerfile: "Dockerfile", buildArgs: { A: "1" }, platforms: [], labels: {}, pull: false, extraFlags: [] },
      flavor: "docker",
      config: { binary: "docker" },
      destination: "127.0.0.1:5000/app",
      bases: {},
    };
    expect(imageChecksum(inputs())).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(canonical(before)).digest("hex")}`);
  });

  test("platforms: the set and its order (the index order) are inputs; adding a platform changes the checksum", () => {
    const two = imageChecksum(inputs({}, { platforms: ["linux/amd64", "linux/arm64"] }));
    expect(two).not.toBe(imageChecksum(inputs()));
    expect(imageChecksum(inputs({}, { platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"] }))).not.toBe(two);
    expect(imageChecksum(inputs({}, { platforms: ["linux/amd64"] }))).not.toBe(two);
    expect(imageChecksum(inputs({}, { platforms: ["linux/arm64", "linux/amd64"] }))).not.toBe(two);
    expect(imageChecksum(inputs({}, { platforms: ["linux/amd64", "linux/arm64"] }))).toBe(two);
  });

  test("several platforms: each platform's base digest is an input, so a base's new arm64 image rebuilds while amd64 stays", () => {
    const platforms = ["linux/amd64", "linux/arm64"];
    const bases = (arm: string) => ({ "linux/amd64": { busybox: "sha256:a1" }, "linux/arm64": { busybox: arm } });
    const before = imageChecksum(inputs({ platformBases: bases("sha256:b1") }, { platforms }));
    expect(imageChecksum(inputs({ platformBases: bases("sha256:b1") }, { platforms }))).toBe(before);
    expect(imageChecksum(inputs({ platformBases: bases("sha256:b2") }, { platforms }))).not.toBe(before);
    expect(imageChecksum(inputs({ platformBases: bases("sha256:b1") }, { platforms }))).not.toBe(imageChecksum(inputs({ platformBases: { "linux/amd64": { busybox: "sha256:b1" }, "linux/arm64": { busybox: "sha256:a1" } } }, { platforms })));
    // Unknown (null) is not a digest.
    expect(imageChecksum(inputs({ platformBases: { "linux/amd64": { busybox: "sha256:a1" }, "linux/arm64": { busybox: null } } }, { platforms }))).not.toBe(before);
    // None given (one platform): the checksum of before.
    expect(imageChecksum(inputs({ platformBases: {} }))).toBe(imageChecksum(inputs()));
  });

  test("the version is in it: records of version 1 (tags included) stop matching", () => {
    expect(CHECKSUM_VERSION).toBe(3);
    expect(imageChecksum(inputs({ version: 1 }))).not.toBe(imageChecksum(inputs()));
  });
});
