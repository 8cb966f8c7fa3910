/**
 * `imgb validate` refuses what `imgb build` would (issue #11, item 7), from the flavor's
 * declared capabilities: several platforms on docker without a registry, a RUN for a flavor that
 * declares `run: false`, a RUN the oci flavor cannot run here (a platform without an emulator, in
 * the stages the target needs, from a Dockerfile file or dockerfile_inline). `imgb build` refuses
 * the same before building anything. No engine needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { requireTool } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { canRun, emulationProblem } from "../../src/emulation.ts";

afterAll(cleanupTempDirs);

function stack(builder: string, images: string, files: Record<string, string> = {}) {
  const dir = tempDir("imgb-caps-");
  writeTree(dir, { "imgb.yaml": `image_builder: ${builder}\nimages:\n${images}`, ...files });
  const env = { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" };
  return { dir, validate: () => runImgb(["validate"], { cwd: dir, env }), build: () => runImgb(["build", "--progress", "plain"], { cwd: dir, env }) };
}

const S390X = { os: "linux", architecture: "s390x" };
const noS390x = await requireTool("a platform without an emulator", () => (canRun(S390X) ? "this machine has an s390x emulator: the test needs a platform without one" : undefined));

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

  test("a flavor declaring run: false: a RUN in a needed stage is refused at its line, in a file and inline; an unused stage's RUN is not", async () => {
    const flavor = `import { Type, defineFlavor } from "imgb";\nexport default defineFlavor({ contractVersion: 2, name: "norun", type: "image_builder", description: "No RUN", config: Type.Object({}, { additionalProperties: false }), capabilities: { run: false }, implementation: async () => { throw new Error("not loaded by validate"); } });\n`;
    const s = stack(
      "{ flavor: norun }",
      `  app: { context: ctx }\n  skips: { context: ctx, target: clean }\n  inl: { dockerfile_inline: "FROM scratch\\nRUN true\\n" }\n`,
      { "norun.ts": flavor, "ctx/Dockerfile": "FROM scratch AS clean\nCOPY a /a\n\nFROM clean\nRUN echo hi\n", "ctx/a": "a\n" },
    );
    writeTree(s.dir, { "imgb.yaml": `flavors: [./norun.ts]\n${readFileSync(join(s.dir, "imgb.yaml"), "utf8")}` });
    const r = await s.validate();
    expect(r.code).toBe(2);
    const hint = "(hint: use an engine flavor that runs containers (docker, podman or buildah), or move the command's result into the build context and COPY it)";
    expect(errors(r.stderr)).toEqual([
      `${join(s.dir, "ctx/Dockerfile")}:5:1: error: RUN is not supported by the 'norun' flavor (image 'app'): it builds images without running containers ${hint}`,
      `${join(s.dir, "imgb.yaml")}: error: RUN is not supported by the 'norun' flavor (image 'inl', line 2 of its inline Dockerfile): it builds images without running containers (at /images/inl/dockerfile_inline) ${hint}`,
    ]);
  });

  // The oci flavor runs RUN steps (as root, foreign platforms under binfmt_misc + qemu): one for
  // a platform this machine has no emulator for is refused where it is written.
  test.skipIf(!noS390x)("oci: a RUN for a platform without an emulator is refused at its line, in a file and inline; an unused stage's RUN is not", async () => {
    const s = stack(
      `{ flavor: oci, config: { output: "oci-layout:out", platform: linux/s390x } }`,
      `  app: { context: ctx }\n  skips: { context: ctx, target: clean }\n  inl: { dockerfile_inline: "FROM scratch\\nRUN true\\n" }\n`,
      { "ctx/Dockerfile": "FROM scratch AS clean\nCOPY a /a\n\nFROM clean\nRUN echo hi\n", "ctx/a": "a\n" },
    );
    const r = await s.validate();
    expect(r.code).toBe(2);
    const problem = emulationProblem(S390X)!;
    const [message, fix] = [problem.slice(0, problem.indexOf("; ")), problem.slice(problem.indexOf("; ") + 2)];
    const rootProblem = process.getuid?.() === 0 ? [] : ["RUN steps as root only"];
    const lines = errors(r.stderr).filter((l) => !rootProblem.some((p) => l.includes(p)));
    expect(lines).toEqual([
      `${join(s.dir, "ctx/Dockerfile")}:5:1: error: ${message} (hint: ${fix})`,
      `${join(s.dir, "imgb.yaml")}: error: ${message} (image 'inl', line 2 of its inline Dockerfile) (at /images/inl/dockerfile_inline) (hint: ${fix})`,
    ]);
    // build refuses the same, before it builds anything (the one image without RUN included).
    const b = await s.build();
    expect(b.code).toBe(2);
    expect(errors(b.stderr)).toEqual(errors(r.stderr));
    expect(existsSync(join(s.dir, "out"))).toBe(false);
  });

  test("oci: a RUN for this machine's own platform is fine (as root)", async () => {
    const s = stack(`{ flavor: oci, config: { output: "oci-layout:out" } }`, "  app: { context: . }\n", { Dockerfile: "FROM scratch\nRUN true\n" });
    const r = await s.validate();
    if (process.getuid?.() === 0) expect(r.code).toBe(0);
    else expect(errors(r.stderr)).toEqual([expect.stringContaining("The 'oci' flavor runs RUN steps as root only") as unknown as string]);
  });

  test("docker: RUN is fine, one platform is fine", async () => {
    const s = stack("{ flavor: docker }", "  app: { context: ., platforms: [linux/amd64] }\n", { Dockerfile: "FROM scratch\nRUN true\n" });
    expect((await s.validate()).code).toBe(0);
  });
});
