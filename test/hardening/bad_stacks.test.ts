/**
 * Hostile input class "bad stack files", through the compiled binary as users run it: every
 * independent error of a file in one run, each on one line with file:line:col and a hint, exit 2,
 * no stack trace; `--set` errors at the argument; build-time input errors exit 2 as well; a
 * flavor whose defaults break its own schema is refused at registration; and file modes reach
 * the image exactly as written in octal (the engine says so), a decimal 755 never.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

function stackDir(files: Record<string, string>): string {
  const dir = tempDir("imgb-hardening-");
  writeTree(dir, files);
  return dir;
}

const noTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe("bad stack files through the binary", () => {
  test("validate reports every independent error at once, each once, exit 2", async () => {
    const dir = stackDir({
      Dockerfile: "FROM scratch\n",
      "imgb.yaml": [
        "image_builder:",
        "  flavour: docker", // a typo: one line, not three
        "container_registry:",
        "  uri: 127.0.0.1:99999",
        "images:",
        "  app:",
        "    context: ./nope", // no derived 'Dockerfile not found'
        "  b:",
        "    context: .",
        "    extra_files:",
        "      run.sh: { content: x, mode: 755 }",
        "    build_args:",
        "      X: ${images.app.sha}",
        "",
      ].join("\n"),
    });
    const f = join(dir, "imgb.yaml");
    const r = await runImgb(["validate", "-f", f], { env: { NO_COLOR: "1" } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    noTrace(r.stderr);
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      `${f}:2:3: error: Unknown key 'flavour' (at /image_builder/flavour) (hint: did you mean 'flavor'?)`,
      `${f}:4:8: error: Invalid registry port '99999': expected a number from 1 to 65535 (at /container_registry/uri) (hint: write host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme)`,
      `${f}:7:14: error: Context directory not found: '${dir}/nope' (at /images/app/context) (hint: paths are relative to the stack file)`,
      `${f}:11:35: error: File mode 755 is a decimal number, not octal (at /images/b/extra_files/run.sh/mode) (hint: write the mode in octal: 0755, 0o755 or "0755")`,
      `${f}:13:10: error: Invalid image reference '\${images.app.sha}': expected \${images.NAME.FIELD} with FIELD one of ref, digest, name (at /images/b/build_args/X) (hint: write $\${ for a literal '\${')`,
      "5 errors",
    ]);
  });

  test("validate --json lists the same errors", async () => {
    const dir = stackDir({ "imgb.yaml": "image_builder:\n  flavor: dockr\nimages:\n  app:\n    context: ./nope\n" });
    const r = await runImgb(["validate", "-f", join(dir, "imgb.yaml"), "--json"]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { valid: boolean; errors: { code: string; location: { line: number } }[] };
    expect(out.valid).toBe(false);
    expect(out.errors.map((e) => [e.code, e.location.line])).toEqual([["stack.unknown-flavor", 2], ["stack.context-missing", 5]]);
  });

  test("a --set error names the --set argument, not a line of the file", async () => {
    const dir = stackDir({ Dockerfile: "FROM scratch\n", "imgb.yaml": "images:\n  app:\n    context: .\n    tags: [ok]\n" });
    const r = await runImgb(["print", "-f", join(dir, "imgb.yaml"), "--no-plan", "--set", "app.tags=a b"], { env: { NO_COLOR: "1" } });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe("error: --set 'app.tags=a b': Invalid value 'a b': must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (at /images/app/tags/0)");
  });

  test("an invalid .dockerignore fails validate with its file and line", async () => {
    const dir = stackDir({ Dockerfile: "FROM scratch\n", ".dockerignore": "ok\n[\n", "imgb.yaml": "images:\n  app:\n    context: .\n" });
    const r = await runImgb(["validate", "-f", join(dir, "imgb.yaml")], { env: { NO_COLOR: "1" } });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe(`${dir}/.dockerignore:2: error: Invalid ignore pattern "[": unclosed character class (hint: Escape a literal "[", "]" or "\\" with a backslash)`);
  });

  test("an input error found only at build time exits 2, not 1", async () => {
    // The oci flavor reads the Dockerfile itself: an invalid FROM reference is bad input.
    const dir = stackDir({
      Dockerfile: "FROM Not/A_Valid:Ref\nCOPY a /a\n",
      a: "x\n",
      "imgb.yaml": 'image_builder:\n  flavor: oci\n  config: { output: "oci-layout:out" }\nimages:\n  app:\n    context: .\n',
    });
    const r = await runImgb(["build", "-f", join(dir, "imgb.yaml"), "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: join(dir, ".home"), NO_COLOR: "1" } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('Invalid image reference "Not/A_Valid:Ref"');
    expect(r.stderr.trimEnd().split("\n").pop()).toBe("error: 1 of 1 images failed: app");
    noTrace(r.stderr);
  });

  test("a flavor whose default breaks its own schema is refused at registration", async () => {
    const dir = stackDir({
      "slow.ts": `import { Type, defineFlavor } from "imgb";
export default defineFlavor({
  name: "slow",
  type: "image_builder",
  description: "retries",
  config: Type.Object({ retries: Type.Integer({ minimum: 5, default: 1 }) }, { additionalProperties: false }),
  implementation: async () => { throw new Error("never loaded"); },
});
`,
    });
    const env = { IMGB_HOME: join(dir, ".home"), NO_COLOR: "1" };
    const r = await runImgb(["flavor", "register", join(dir, "slow.ts")], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe(
      `${dir}/slow.ts: error: Flavor 'slow': the default of config key 'retries' (1) breaks its own schema: Expected integer to be greater or equal to 5 (hint: fix the default in the flavor's config schema, or drop it; otherwise every stack using the flavor fails at a key its user never wrote)`,
    );
    const list = await runImgb(["flavor", "list"], { env });
    expect(list.stdout).not.toContain("slow");
  });
});

describe.skipIf(!(await requireEngine("docker")))("file modes reach the image as written in octal (docker)", () => {
  test("0755, \"0750\" and 0o600 become 755, 750 and 600 in the image", async () => {
    const repo = uniqueRepo("modes");
    const dir = stackDir({
      Dockerfile: `FROM ${BASE_IMAGE}\nCOPY . /m/\n`,
      "imgb.yaml": [
        "image_builder:",
        `  flavor: docker`,
        `  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }`,
        "images:",
        `  ${repo}:`,
        "    context: .",
        "    extra_files:",
        '      a.sh: { content: "x", mode: 0755 }',
        '      b.sh: { content: "x", mode: "0750" }',
        '      c.txt: { content: "x", mode: 0o600 }',
        "",
      ].join("\n"),
    });
    const env = { IMGB_HOME: join(dir, ".home"), NO_COLOR: "1" };
    const built = await runImgb(["build", "-f", join(dir, "imgb.yaml"), "--progress", "plain", "--no-reuse"], { env });
    expect(built.stderr).toContain("built");
    expect(built.code).toBe(0);
    const ref = built.stdout.trim();
    try {
      const run = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "run", "--rm", "--network=none", ref, "stat", "-c", "%a %n", "/m/a.sh", "/m/b.sh", "/m/c.txt"], { stdout: "pipe", stderr: "pipe" });
      expect(run.stderr.toString()).toBe("");
      expect(run.stdout.toString()).toBe("755 /m/a.sh\n750 /m/b.sh\n600 /m/c.txt\n");
    } finally {
      Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", "-f", ref], { stdout: "ignore", stderr: "ignore" });
    }
  }, E2E_TIMEOUT);

  test("a decimal 755 is refused before the engine sees it (it would be --wxrw--wt)", async () => {
    const repo = uniqueRepo("modes-decimal");
    const dir = stackDir({
      Dockerfile: `FROM ${BASE_IMAGE}\nCOPY . /m/\n`,
      "imgb.yaml": `image_builder:\n  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\nimages:\n  ${repo}:\n    context: .\n    extra_files:\n      a.sh: { content: "x", mode: 755 }\n`,
    });
    try {
      const r = await runImgb(["build", "-f", join(dir, "imgb.yaml"), "--progress", "plain"], { env: { IMGB_HOME: join(dir, ".home"), NO_COLOR: "1" } });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("File mode 755 is a decimal number, not octal");
      const inspect = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", `${repo}:latest`], { stdout: "pipe", stderr: "pipe" });
      expect(inspect.exitCode).not.toBe(0);
    } finally {
      // An imgb that let it through has built it: leave nothing behind either way.
      Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", "-f", `${repo}:latest`], { stdout: "ignore", stderr: "ignore" });
    }
  }, E2E_TIMEOUT);
});
