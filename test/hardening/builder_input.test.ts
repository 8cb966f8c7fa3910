/**
 * Bad input that only a builder can see is still bad input: exit 2, one line, nothing built.
 * podman and buildah with `format: oci` (or `--format oci` in extra_flags) and a HEALTHCHECK,
 * SHELL or ONBUILD in the target image: `imgb validate` refuses it from the Dockerfile (the
 * flavor's staticCheck), and `imgb build` refuses it before any engine runs. And an InputError
 * a builder throws during the build (a custom flavor's) ends `imgb build` with exit 2, while a
 * run in which some image failed at run time stays exit 1. The rules are _harness.ts's.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { E2E_TIMEOUT } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { expectCleanFailure } from "./_harness.ts";

afterAll(cleanupTempDirs);

const HEALTHCHECK = "FROM imgb-test/busybox:latest\nRUN true\nHEALTHCHECK CMD true\n";

/** A stack directory with `files`; a private IMGB_HOME (nothing reused). */
function stack(files: Record<string, string>) {
  const dir = tempDir("imgb-binput-");
  writeTree(dir, files);
  return { dir, env: { IMGB_HOME: tempDir("imgb-binput-home-") } };
}

const yaml = (builder: string, image = "context: .") => `image_builder: ${builder}\nimages:\n  imgb-e2e/binput:\n    ${image}\n    network: none\n`;

describe("a Docker-only instruction in an OCI-format build", () => {
  for (const flavor of ["podman", "buildah"]) {
    test(`${flavor}, format: oci: validate names the Dockerfile line`, async () => {
      const { dir, env } = stack({ Dockerfile: HEALTHCHECK, "imgb.yaml": yaml(`{ flavor: ${flavor}, config: { format: oci } }`) });
      const r = await expectCleanFailure({ args: ["validate"], cwd: dir, env, code: 2, unchanged: [dir] });
      expect(r.errorLine).toContain(`${join(dir, "Dockerfile")}:3:1: error: HEALTHCHECK needs the Docker image format`);
      expect(r.errorLine).toContain("hint:");
    });

    test(`${flavor}, format: oci: build refuses it with exit 2 before any engine runs`, async () => {
      const { dir, env } = stack({ Dockerfile: HEALTHCHECK, "imgb.yaml": yaml(`{ flavor: ${flavor}, config: { format: oci, binary: /nonexistent/imgb-${flavor} } }`) });
      // The binary does not exist: an engine probe or build would fail with exit 1 instead.
      const r = await expectCleanFailure({ args: ["build", "--progress", "plain"], cwd: dir, env, code: 2, outputBefore: true, unchanged: [dir] });
      expect(r.stderr).toContain("HEALTHCHECK needs the Docker image format");
      expect(r.stderr).not.toContain("/nonexistent/");
    }, E2E_TIMEOUT);
  }

  test("extra_flags --format=oci with the default format: refused too", async () => {
    const { dir, env } = stack({ Dockerfile: "FROM imgb-test/busybox:latest\nSHELL [\"/bin/sh\", \"-c\"]\n", "imgb.yaml": yaml("{ flavor: podman }", "context: .\n    extra_flags: [--format=oci]") });
    const r = await expectCleanFailure({ args: ["validate"], cwd: dir, env, code: 2, unchanged: [dir] });
    expect(r.errorLine).toContain("SHELL needs the Docker image format, but extra_flags set --format oci");
  });

  test("an inline Dockerfile: located at its stack key, with the line", async () => {
    const { dir, env } = stack({ "imgb.yaml": yaml("{ flavor: buildah, config: { format: oci } }", 'dockerfile_inline: "FROM imgb-test/busybox:latest\\nONBUILD RUN true\\n"') });
    const r = await expectCleanFailure({ args: ["validate"], cwd: dir, env, code: 2, unchanged: [dir] });
    expect(r.errorLine).toContain("ONBUILD needs the Docker image format");
    expect(r.errorLine).toContain("line 2 of its inline Dockerfile");
    expect(r.errorLine).toContain("(at /images/imgb-e2e/binput/dockerfile_inline)");
  });

  test("an extra file that replaces the Dockerfile is the one checked", async () => {
    const { dir, env } = stack({ Dockerfile: "FROM imgb-test/busybox:latest\n", "imgb.yaml": yaml("{ flavor: podman, config: { format: oci } }", `context: .\n    extra_files:\n      Dockerfile: { content: "FROM imgb-test/busybox:latest\\nHEALTHCHECK NONE\\n" }`) });
    const r = await expectCleanFailure({ args: ["validate"], cwd: dir, env, code: 2, unchanged: [dir] });
    expect(r.errorLine).toContain("HEALTHCHECK needs the Docker image format");
  });

  test("format: auto or docker: valid (docker format is chosen at build time)", async () => {
    for (const config of ["{}", "{ format: docker }"]) {
      const { dir, env } = stack({ Dockerfile: HEALTHCHECK, "imgb.yaml": yaml(`{ flavor: podman, config: ${config} }`) });
      const r = await runImgb(["validate"], { cwd: dir, env });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining(": valid (flavor podman") });
    }
  });
});

/** A custom flavor whose builder refuses images named `*bad-input*` (InputError) and fails `*runtime*` (RuntimeError). */
const FLAVOR = `
import { Type, defineFlavor } from "imgb";
export default defineFlavor({
  name: "refuser",
  type: "image_builder",
  description: "Refuses some images at build time",
  config: Type.Object({}, { additionalProperties: false }),
  implementation: async () => (await import("./refuser_builder.ts")).Refuser,
});`;
const BUILDER = `
import { BaseImageBuilder, InputError, RuntimeError } from "imgb";
export class Refuser extends BaseImageBuilder<Record<string, never>> {
  get isBuildingLocally() { return true; }
  async build(imageName: string) {
    if (imageName.includes("bad-input")) throw new InputError("test.refused", "Image " + imageName + " uses a feature this builder cannot build");
    if (imageName.includes("runtime")) throw new RuntimeError("test.failed", "The engine crashed on " + imageName);
    return imageName;
  }
}`;

describe("an InputError thrown by a builder during the build", () => {
  const images = (names: string[]) => names.map((n) => `  ${n}:\n    context: ctx\n`).join("");
  const files = (names: string[]) => ({
    "refuser.ts": FLAVOR,
    "refuser_builder.ts": BUILDER,
    "ctx/Dockerfile": "FROM scratch\n",
    "imgb.yaml": `flavors: [refuser.ts]\nimage_builder: { flavor: refuser }\nimages:\n${images(names)}`,
  });

  test("every failed image failed on bad input: exit 2", async () => {
    const { dir, env } = stack(files(["bad-input-a", "bad-input-b", "fine"]));
    const r = await expectCleanFailure({ args: ["build", "--progress", "plain"], cwd: dir, env, code: 2, outputBefore: true, unchanged: [dir] });
    expect(r.errorLine).toContain("2 of 3 images failed: bad-input-a, bad-input-b");
    expect(r.stderr).toContain("uses a feature this builder cannot build");
  }, E2E_TIMEOUT);

  test("one image failed at run time: exit 1", async () => {
    const { dir, env } = stack(files(["bad-input-a", "runtime-b"]));
    const r = await expectCleanFailure({ args: ["build", "--progress", "plain"], cwd: dir, env, code: 1, outputBefore: true, unchanged: [dir] });
    expect(r.errorLine).toContain("2 of 2 images failed");
  }, E2E_TIMEOUT);
});
