/**
 * `imgb validate` refuses what `imgb build` would (issue #11, item 7), from the flavor's
 * declared capabilities: several platforms on docker, a RUN for the oci flavor
 * (in the stages the target needs, from a Dockerfile file or dockerfile_inline). `imgb build`
 * refuses the same before building anything. No engine needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

function stack(builder: string, images: string, files: Record<string, string> = {}) {
  const dir = tempDir("imgb-caps-");
  writeTree(dir, { "imgb.yaml": `image_builder: ${builder}\nimages:\n${images}`, ...files });
  const env = { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" };
  return { dir, validate: () => runImgb(["validate"], { cwd: dir, env }), build: () => runImgb(["build", "--progress", "plain"], { cwd: dir, env }) };
}

const errors = (stderr: string) => stderr.split("\n").filter((l) => l.includes("error:"));

describe("validate knows what the flavor cannot build", () => {
  test("docker: several platforms without a registry are an input error at /images/NAME/platforms, in validate and before any build", async () => {
    const s = stack("{ flavor: docker }", "  app: { context: ., platforms: [linux/amd64, linux/arm64] }\n  one: { context: ., platforms: [linux/amd64] }\n", { Dockerfile: "FROM scratch\n" });
    const r = await s.validate();
    expect(r.code).toBe(2);
    expect(errors(r.stderr)).toEqual([
      `${join(s.dir, "imgb.yaml")}: error: The docker flavor builds image 'app' for several platforms ('linux/amd64', 'linux/arm64') only into a registry: docker's image store holds one platform per tag, and without a container_registry there is nowhere to put the index (at /images/app/platforms) (hint: add a container_registry (each platform is pushed and one index is tagged), list one platform, or use podman/buildah, which keep a local manifest list)`,
    ]);
    const b = await s.build();
    expect(b.code).toBe(2);
    expect(errors(b.stderr)).toEqual(errors(r.stderr));
  });

  test("docker: several platforms with a registry are fine", async () => {
    const dir = tempDir("imgb-caps-");
    writeTree(dir, { "imgb.yaml": "image_builder: { flavor: docker }\ncontainer_registry: { uri: 127.0.0.1:5000 }\nimages:\n  app: { context: ., platforms: [linux/amd64, linux/arm64] }\n", Dockerfile: "FROM scratch\n" });
    expect((await runImgb(["validate"], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } })).code).toBe(0);
  });

  for (const flavor of ["podman", "buildah"]) {
    test(`${flavor}: several platforms are fine (a manifest list)`, async () => {
      const s = stack(`{ flavor: ${flavor} }`, "  app: { context: ., platforms: [linux/amd64, linux/arm64] }\n", { Dockerfile: "FROM scratch\n" });
      const r = await s.validate();
      expect({ code: r.code, errors: errors(r.stderr) }).toEqual({ code: 0, errors: [] });
    });
  }

  test("oci: several platforms are fine", async () => {
    const s = stack(`{ flavor: oci, config: { output: "oci-layout:out" } }`, "  app: { context: ., platforms: [linux/amd64, linux/arm64] }\n", { Dockerfile: "FROM scratch\nCOPY a /a\n", a: "a\n" });
    expect((await s.validate()).code).toBe(0);
  });

  test("oci: a RUN in a needed stage is refused at its line, in a file and inline; an unused stage's RUN is not", async () => {
    const s = stack(
      `{ flavor: oci, config: { output: "oci-layout:out" } }`,
      `  app: { context: ctx }\n  skips: { context: ctx, target: clean }\n  inl: { dockerfile_inline: "FROM scratch\\nRUN true\\n" }\n`,
      { "ctx/Dockerfile": "FROM scratch AS clean\nCOPY a /a\n\nFROM clean\nRUN echo hi\n", "ctx/a": "a\n" },
    );
    const r = await s.validate();
    expect(r.code).toBe(2);
    const hint = "(hint: use an engine flavor that runs containers (docker, podman or buildah), or move the command's result into the build context and COPY it)";
    expect(errors(r.stderr)).toEqual([
      `${join(s.dir, "ctx/Dockerfile")}:5:1: error: RUN is not supported by the 'oci' flavor (image 'app'): it builds images without running containers ${hint}`,
      `${join(s.dir, "imgb.yaml")}: error: RUN is not supported by the 'oci' flavor (image 'inl', line 2 of its inline Dockerfile): it builds images without running containers (at /images/inl/dockerfile_inline) ${hint}`,
    ]);
    // build refuses the same, before it builds anything (the one image without RUN included).
    const b = await s.build();
    expect(b.code).toBe(2);
    expect(errors(b.stderr)).toEqual(errors(r.stderr));
    expect(existsSync(join(s.dir, "out"))).toBe(false);
  });

  test("docker: RUN is fine, one platform is fine", async () => {
    const s = stack("{ flavor: docker }", "  app: { context: ., platforms: [linux/amd64] }\n", { Dockerfile: "FROM scratch\nRUN true\n" });
    expect((await s.validate()).code).toBe(0);
  });
});
