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

  test("what changes the image or where it goes changes the checksum", () => {
    const base = imageChecksum(inputs());
    expect(imageChecksum(inputs({}, { buildArgs: { A: "2" } }))).not.toBe(base);
    expect(imageChecksum(inputs({ destination: "127.0.0.1:5000/other" }))).not.toBe(base);
    expect(imageChecksum(inputs({ contextDigest: "sha256:bb" }))).not.toBe(base);
    expect(imageChecksum(inputs({ bases: { busybox: "sha256:cc" } }))).not.toBe(base);
    expect(imageChecksum(inputs({ dockerfile: "other.Dockerfile" }))).not.toBe(base);
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

  test("the version is in it: records of version 1 (tags included) stop matching", () => {
    expect(CHECKSUM_VERSION).toBe(3);
    expect(imageChecksum(inputs({ version: 1 }))).not.toBe(imageChecksum(inputs()));
  });
});
