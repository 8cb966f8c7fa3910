/**
 * The stack file the way compose and bake users write it (issue #17, part 1), through the
 * compiled binary: x-* keys, merge keys and anchors, imgb.yml, booleans from variables, groups,
 * inherits, matrix, named contexts and `--flag value` extra flags. `imgb print --no-plan` shows
 * the expanded result; every mistake is one located line with exit code 2.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const HEAD = "image_builder: { flavor: docker }\n";

function stack(yaml: string, files: Record<string, string> = {}): string {
  const dir = tempDir("imgb-bake-");
  writeTree(dir, { Dockerfile: "FROM scratch\n", ...files, ...(yaml ? { "imgb.yaml": yaml } : {}) });
  return dir;
}

interface Printed {
  images: Record<string, { buildArgs: Record<string, string>; labels: Record<string, string>; tags: string[]; noCache: boolean; pull: boolean; target?: string; extraFlags: string[]; dependsOn: string[] }>;
  groups?: Record<string, string[]>;
  matrix?: Record<string, string[]>;
}

async function print(dir: string, env: Record<string, string> = {}, args: string[] = []): Promise<Printed> {
  const r = await runImgb(["print", "--no-plan", ...args], { cwd: dir, env });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(r.stdout) as Printed;
}

/** The error lines of `imgb validate`, file paths cut to the base name. */
async function errors(dir: string, env: Record<string, string> = {}): Promise<string[]> {
  const r = await runImgb(["validate"], { cwd: dir, env });
  expect(r.code).toBe(2);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return r.stderr.split("\n").filter((l) => l.includes("error:")).map((l) => l.replaceAll(`${dir}/`, ""));
}

describe("compose-style YAML", () => {
  test("x-* keys are ignored at every level; a mapping of names keeps them", async () => {
    const dir = stack(
      "x-top: { anything: [1, 2] }\nimage_builder:\n  flavor: docker\n  x-note: builder\n  config: { x-tuning: 1, builder: classic }\nimages:\n  app:\n    x-comment: ignored\n    context: .\n    labels: { x-team: core }\n    extra_files:\n      a.txt: { content: hi, x-why: demo }\n",
    );
    const out = await print(dir);
    expect(out.images.app!.labels).toEqual({ "x-team": "core" });
    expect((out as unknown as { imageBuilder: { config: Record<string, unknown> } }).imageBuilder.config).toEqual({ binary: "docker", builder: "classic" });
  });

  test("an x-* key is still YAML: a malformed one is a YAML error", async () => {
    const dir = stack(`${HEAD}x-broken: [1, 2\nimages:\n  app: { context: . }\n`);
    const lines = await errors(dir);
    expect(lines[0]).toMatch(/^imgb\.yaml:\d+:\d+: error: Invalid YAML/);
  });

  test("merge keys and anchors: one alias and a list of aliases; own keys win", async () => {
    const dir = stack(
      `x-common: &common\n  context: .\n  labels: { team: core }\n  tags: [v1]\nx-debug: &debug\n  target: debug\n  pull: true\n${HEAD}images:\n  app:\n    <<: *common\n    tags: [v2]\n  tool:\n    <<: [*debug, *common]\n`,
    );
    const out = await print(dir);
    expect(out.images.app).toMatchObject({ labels: { team: "core" }, tags: ["v2"] });
    expect(out.images.tool).toMatchObject({ labels: { team: "core" }, tags: ["v1"], target: "debug", pull: true });
  });

  test("an image reference merged from an x-* anchor: fine in build_args, an error elsewhere", async () => {
    const dir = stack(`x-refs: &refs\n  build_args: { BASE: "\${images.base.ref}" }\n  labels: { from: "\${images.base.ref}" }\n${HEAD}images:\n  base: { context: . }\n  app:\n    <<: *refs\n    context: .\n`);
    expect(await errors(dir)).toEqual(["imgb.yaml:3:19: error: Image reference '${images.base.ref}' is resolved only in build_args and contexts (at /images/app/labels/from) (hint: pass it as a build arg (build_args: { BASE: \"${images.NAME.ref}\" }) and use ARG BASE in the Dockerfile)"]);
  });

  test("an error in a merged value points at the anchor's line", async () => {
    const dir = stack(`x-common: &common\n  context: .\n  pull: maybe\n${HEAD}images:\n  app:\n    <<: *common\n`);
    expect(await errors(dir)).toEqual(["imgb.yaml:3:9: error: Expected true or false, got 'maybe' (at /images/app/pull)"]);
  });

  test("imgb.yml is found as well as imgb.yaml; both at once is an error", async () => {
    const dir = stack("", { "imgb.yml": `${HEAD}images:\n  app: { context: ., tags: [yml] }\n` });
    expect((await print(dir)).images.app!.tags).toEqual(["yml"]);
    writeTree(dir, { "imgb.yaml": `${HEAD}images:\n  app: { context: . }\n` });
    const r = await runImgb(["validate"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: Both '${join(dir, "imgb.yaml")}' and '${join(dir, "imgb.yml")}' exist`);
    expect((await runImgb(["validate", "-f", "imgb.yml"], { cwd: dir })).code).toBe(0);
  });

  test("booleans and numbers from variables, per the schema's type", async () => {
    const dir = stack(`version: \${V:-1}\n${HEAD}images:\n  app:\n    context: .\n    no_cache: \${NO_CACHE:-false}\n    pull: \${PULL}\n    build_args: { N: "\${N:-true}" }\n`);
    const off = await print(dir, { PULL: "yes" });
    expect(off.images.app).toMatchObject({ noCache: false, pull: true, buildArgs: { N: "true" } });
    expect((await print(dir, { NO_CACHE: "TRUE", PULL: "off" })).images.app).toMatchObject({ noCache: true, pull: false });
    expect(await errors(dir, { NO_CACHE: "abc", PULL: "true" })).toEqual(["imgb.yaml:6:15: error: Expected true or false, got 'abc' (at /images/app/no_cache)"]);
  });
});

describe("groups", () => {
  const yaml = `${HEAD}groups:\n  default: [app]\n  ci: [default, tools]\n  tools: [lint]\nimages:\n  base: { context: . }\n  app: { context: ., depends_on: [base] }\n  lint: { context: . }\n  other: { context: . }\n`;

  test("print shows each group's images, nested groups resolved", async () => {
    const out = await print(stack(yaml));
    expect(out.groups).toEqual({ default: ["app"], ci: ["app", "lint"], tools: ["lint"] });
  });

  test("the plan: no name is the default group, a group name its images, with their dependencies", async () => {
    const dir = stack(yaml);
    const plan = async (args: string[]) => {
      const r = await runImgb(["print", ...args, "--reuse", "off"], { cwd: dir, env: { IMGB_HOME: tempDir() } });
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { plan: { image: string }[] }).plan.map((e) => e.image);
    };
    expect(await plan([])).toEqual(["base", "app"]);
    expect(await plan(["ci"])).toEqual(["base", "app", "lint"]);
    expect(await plan(["tools", "other"])).toEqual(["lint", "other"]);
  });

  test("an unknown name on the command line: error with a suggestion among images and groups", async () => {
    const r = await runImgb(["build", "tols"], { cwd: stack(yaml), env: { IMGB_HOME: tempDir() } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: Unknown image or group 'tols'");
    expect(r.stderr).toContain("did you mean 'tools'?");
  });

  test("unknown member, cycle, a group named like an image: located errors", async () => {
    const dir = stack(`${HEAD}groups:\n  a: [b]\n  b: [a, lnt]\n  app: [app]\nimages:\n  app: { context: . }\n  lint: { context: . }\n`);
    expect(await errors(dir)).toEqual([
      "imgb.yaml:3:3: error: Group cycle: a -> b -> a (at /groups/a) (hint: a group may include another group, but not itself)",
      "imgb.yaml:4:10: error: Unknown image or group 'lnt' in group 'b' (at /groups/b/1) (hint: did you mean 'lint'?)",
      "imgb.yaml:5:3: error: Group 'app' has the name of an image of this stack (at /groups/app) (hint: rename the group: a name on the command line must say which one it means)",
    ]);
  });
});

describe("inherits", () => {
  test("keys taken in order, own keys last; maps merged entry by entry, lists replaced; chains", async () => {
    const dir = stack(
      `${HEAD}images:\n  base:\n    context: .\n    build_args: { A: "1", B: "1" }\n    labels: { team: core }\n    tags: [base]\n  mid:\n    inherits: base\n    build_args: { B: "2" }\n    target: build\n  app:\n    inherits: [mid]\n    build_args: { C: "3" }\n    tags: [v1, v2]\n`,
    );
    const out = await print(dir);
    expect(out.images.app).toMatchObject({ buildArgs: { A: "1", B: "2", C: "3" }, labels: { team: "core" }, tags: ["v1", "v2"], target: "build" });
    expect(out.images.mid).toMatchObject({ buildArgs: { A: "1", B: "2" }, tags: ["base"] });
  });

  test("a cycle is reported with the chain at file:line:col; an unknown parent with a suggestion", async () => {
    const dir = stack(`${HEAD}images:\n  a: { context: ., inherits: b }\n  b: { context: ., inherits: [c] }\n  c: { context: ., inherits: a }\n  d: { context: ., inherits: bse }\n  base: { context: . }\n`);
    expect(await errors(dir)).toEqual([
      "imgb.yaml:3:20: error: Inheritance cycle: a -> b -> c -> a (at /images/a/inherits) (hint: remove one of these inherits)",
      "imgb.yaml:6:30: error: Unknown image 'bse' in inherits (at /images/d/inherits) (hint: did you mean 'base'?)",
    ]);
  });

  test("an error in an inherited value is reported once, where it is written", async () => {
    const dir = stack(`${HEAD}images:\n  base: { context: ., platforms: [linux] }\n  app: { inherits: base }\n  web: { inherits: base }\n`);
    const lines = await errors(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^imgb\.yaml:3:\d+: error: .*\(at \/images\/base\/platforms\/0\)/);
  });
});

describe("matrix", () => {
  test("one definition, one image per combination; ${matrix.X} in names, args and tags; depends_on the definition", async () => {
    const dir = stack(
      `${HEAD}groups:\n  default: [app]\nimages:\n  app:\n    context: .\n    matrix: { py: ["3.11", "3.12"], os: [alpine, debian] }\n    name: app-py\${matrix.py}-\${matrix.os}\n    build_args: { PY: "\${matrix.py}" }\n    tags: ["\${matrix.os}"]\n  lib:\n    context: .\n    matrix: { py: ["3.11", "3.12"] }\n    tags: ["py\${matrix.py}"]\n  test:\n    context: .\n    depends_on: [lib]\n`,
    );
    const out = await print(dir);
    expect(Object.keys(out.images)).toEqual(["app-py3.11-alpine", "app-py3.11-debian", "app-py3.12-alpine", "app-py3.12-debian", "lib-3.11", "lib-3.12", "test"]);
    expect(out.images["app-py3.12-debian"]).toMatchObject({ buildArgs: { PY: "3.12" }, tags: ["debian"] });
    expect(out.images["lib-3.11"]!.tags).toEqual(["py3.11"]);
    expect(out.images.test!.dependsOn).toEqual(["lib-3.11", "lib-3.12"]);
    expect(out.matrix).toEqual({ app: ["app-py3.11-alpine", "app-py3.11-debian", "app-py3.12-alpine", "app-py3.12-debian"], lib: ["lib-3.11", "lib-3.12"] });
    expect(out.groups!.default).toHaveLength(4);
    const one = await print(dir, {}, ["--set", "lib-3.12.target=x"]);
    expect(one.images["lib-3.12"]!.target).toBe("x");
    expect(one.images["lib-3.11"]!.target).toBeUndefined();
  });

  test("a matrix image may inherit; the definition's name selects all its images", async () => {
    const dir = stack(`${HEAD}images:\n  base: { context: ., labels: { team: core } }\n  lib:\n    inherits: base\n    matrix: { v: ["1", "2"] }\n    labels: { v: "\${matrix.v}" }\n  other: { context: . }\n`);
    const out = await print(dir);
    expect(out.images["lib-2"]!.labels).toEqual({ team: "core", v: "2" });
    const r = await runImgb(["print", "lib", "--reuse", "off"], { cwd: dir, env: { IMGB_HOME: tempDir() } });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { plan: { image: string }[] }).plan.map((e) => e.image)).toEqual(["lib-1", "lib-2"]);
  });

  test("duplicate names, unknown variables, ${matrix.X} without a matrix: located errors", async () => {
    const dir = stack(
      `${HEAD}images:\n  app:\n    context: .\n    matrix: { py: ["3.11", "3.12"] }\n    name: app\n  lib:\n    context: .\n    matrix: { py: ["3.11"] }\n    tags: ["\${matrix.pyy}"]\n  web:\n    context: .\n    tags: ["\${matrix.py}"]\n`,
    );
    expect(await errors(dir)).toEqual([
      "imgb.yaml:6:5: error: Matrix image 'app' makes the image 'app' twice (values py=3.12) (at /images/app/name) (hint: use every matrix variable in the name, e.g. name: app-${matrix.py})",
      "imgb.yaml:10:12: error: Unknown matrix variable '${matrix.pyy}' in image 'lib' (at /images/lib/tags/0) (hint: did you mean '${matrix.py}'?)",
      "imgb.yaml:13:12: error: '${matrix.py}' in image 'web', which has no matrix (at /images/web/tags/0) (hint: add a matrix: { VARIABLE: [VALUES] } to the image, or write $${ for a literal '${')",
    ]);
  });

  test("a matrix of more than 256 images is refused at its matrix key", async () => {
    const values = JSON.stringify(Array.from({ length: 17 }, (_, i) => String(i)));
    const dir = stack(`${HEAD}images:\n  app:\n    context: .\n    matrix: { a: ${values}, b: ${values} }\n`);
    expect(await errors(dir)).toEqual(["imgb.yaml:5:5: error: Matrix image 'app' would make 289 images: the limit is 256 (at /images/app/matrix) (hint: split it into several definitions, or list fewer values)"]);
  });

  test("an invalid expanded value is located in the definition", async () => {
    const tags = stack(`${HEAD}images:\n  app:\n    context: .\n    matrix: { v: ["1", "2"] }\n    tags: ["v \${matrix.v}"]\n`);
    const lines = await errors(tags);
    expect(lines).toEqual([
      "imgb.yaml:6:12: error: Invalid value 'v 1': must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (at /images/app-1/tags/0)",
      "imgb.yaml:6:12: error: Invalid value 'v 2': must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (at /images/app-2/tags/0)",
    ]);
    const names = await errors(stack(`${HEAD}images:\n  app:\n    context: .\n    matrix: { v: [ok, "No Good"] }\n    name: "app-\${matrix.v}"\n`));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^imgb\.yaml:3:3: error: .*'app-No Good'.*\(at \/images\/app-No Good\)/);
  });
});

describe("extra_flags", () => {
  test("'--flag value' as two items is '--flag=value'", async () => {
    const dir = stack(`${HEAD}images:\n  app: { context: ., extra_flags: [--add-host, "db:127.0.0.1", --squash, --shm-size=64m] }\n`);
    expect((await print(dir)).images.app!.extraFlags).toEqual(["--add-host=db:127.0.0.1", "--squash", "--shm-size=64m"]);
  });

  test("a refused flag is located at its item and the error lists the accepted flags; a stray value is an error", async () => {
    const dir = stack(`${HEAD}images:\n  app: { context: ., extra_flags: [--add-host, "db:1.2.3.4", --privileged, "x", "y"] }\n`);
    const lines = await errors(dir);
    expect(lines).toEqual([
      "imgb.yaml:3:62: error: Flavor 'docker' does not accept the extra flag '--privileged' (at /images/app/extra_flags/2) (hint: accepted: --squash --secret --ssh --add-host --shm-size --ulimit --cache-from --progress --iidfile --isolation --cgroup-parent)",
      "imgb.yaml:3:81: error: Extra flag item 'y' is neither a flag nor the value of the flag before it (at /images/app/extra_flags/4) (hint: write --flag=value, or --flag and its value as two items one after the other)",
    ]);
  });
});

describe("named contexts", () => {
  test("checked (directory, image, stack image) and refused with the flavor's reason, never dropped", async () => {
    const dir = stack(`${HEAD}images:\n  base: { context: . }\n  app:\n    context: .\n    contexts: { assets: ./assets, tools: "docker-image://busybox:1", b: "\${images.base.ref}", gone: ./missing, web: "https://example.com/x.tar" }\n`, { "assets/a.txt": "a\n" });
    const lines = await errors(dir);
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes("(at /images/app/contexts/gone)"))).toContain("error: Context directory not found:");
    expect(lines.find((l) => l.includes("(at /images/app/contexts/web)"))).toContain("error: Context 'https://example.com/x.tar' is not supported");
    expect(lines.find((l) => l.includes("(at /images/app/contexts)"))).toContain("has named contexts, which flavor 'docker' cannot build");
    const ok = stack(`${HEAD}images:\n  app:\n    context: .\n    contexts: { assets: ./assets }\n`, { "assets/a.txt": "a\n" });
    expect(await errors(ok)).toEqual([
      "imgb.yaml:5:5: error: Image 'app' has named contexts, which flavor 'docker' cannot build: docker 20.10's `docker build` has no --build-context (named contexts need docker buildx, or BuildKit's dockerfile frontend 1.4) (at /images/app/contexts) (hint: use the podman or buildah flavor; or for a docker-image:// context write the image in the Dockerfile (COPY --from=REF, FROM REF), for a directory add its files with extra_files: { DEST: { source: DIR } })",
    ]);
  });

  test("podman and buildah take them; a remote podman service only image contexts", async () => {
    const files = { "assets/a.txt": "a\n" };
    const contexts = "    contexts: { assets: ./assets, tools: docker-image://busybox:1 }\n";
    for (const flavor of ["podman", "buildah"]) {
      const r = await runImgb(["validate"], { cwd: stack(`image_builder: { flavor: ${flavor} }\nimages:\n  app:\n    context: .\n${contexts}`, files) });
      expect({ flavor, code: r.code }).toEqual({ flavor, code: 0 });
    }
    const remote = stack(`image_builder: { flavor: podman, config: { url: "unix:///run/podman.sock" } }\nimages:\n  app:\n    context: .\n${contexts}`, files);
    expect(await errors(remote)).toEqual([
      "imgb.yaml:5:25: error: Image 'app' has the directory context 'assets', which the podman flavor cannot send to a remote podman service (url / connection) (at /images/app/contexts/assets) (hint: build with a local podman (no url or connection), use an image context (docker-image://REF), or add the files with extra_files: { DEST: { source: DIR } })",
    ]);
  });

  test("a directory outside the stack's needs --allow", async () => {
    const outside = tempDir("imgb-bake-outside-");
    const dir = stack(`${HEAD}images:\n  app:\n    context: .\n    contexts: { assets: ${outside} }\n`);
    const lines = await errors(dir);
    expect(lines[0]).toContain(`'contexts' reads '${outside}'`);
  });
});
