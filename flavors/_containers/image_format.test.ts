import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { chooseFormat } from "./image_format.ts";

const hc = [{ keyword: "HEALTHCHECK", line: 4 }];

describe("image format", () => {
  test("auto: docker exactly when a Docker-only instruction is used; explicit settings kept", () => {
    expect(chooseFormat("podman", "auto", [], [], "Dockerfile")).toBe("oci");
    expect(chooseFormat("podman", "auto", [], hc, "Dockerfile")).toBe("docker");
    expect(chooseFormat("buildah", "docker", [], [], "Dockerfile")).toBe("docker");
    expect(chooseFormat("buildah", "oci", [], [], "Dockerfile")).toBe("oci");
  });

  test("oci with a Docker-only instruction: an InputError at its line, with the fix", () => {
    let e: unknown;
    try {
      chooseFormat("buildah", "oci", [], hc, "/ctx/Dockerfile");
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(InputError);
    const err = e as InputError;
    expect(err.code).toBe("build.docker-only-instruction");
    expect(err.describe()).toStartWith("/ctx/Dockerfile:4:1: HEALTHCHECK needs the Docker image format, but the buildah flavor's `format` is 'oci'");
    expect(err.hint).toContain("format: docker");
  });

  test("--format in extra flags wins (no flag added), and is checked the same way", () => {
    expect(chooseFormat("podman", "auto", ["--format", "docker"], hc, "Dockerfile")).toBeUndefined();
    expect(chooseFormat("podman", "auto", ["--format=oci"], [], "Dockerfile")).toBeUndefined();
    expect(() => chooseFormat("podman", "docker", ["--format=oci"], hc, "Dockerfile")).toThrow("extra_flags set --format oci");
  });
});
