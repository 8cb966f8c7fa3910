/**
 * `imgb flavor init` through the compiled binary: the skeleton type-checks with `tsc` against
 * the imgb.d.ts it wrote (no node_modules near it), registers, and builds an image with the real
 * docker daemon that carries the skeleton's labels; bad names and existing files are refused
 * with one line and nothing written. `imgb flavor types` prints the same imgb.d.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runImgb } from "../helpers/binary.ts";
import { DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const TSC = join(repoRoot, "node_modules/typescript/bin/tsc");
const SKELETON = ["app", "builder.ts", "flavor.ts", "imgb.d.ts", "imgb.yaml", "tsconfig.json"];

async function tsc(project: string): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([process.execPath, TSC, "-p", project], { cwd: project, env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME!, TMPDIR: tempDir("imgb-tsc-") }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

describe("imgb flavor init", () => {
  test("writes the skeleton into ./NAME; imgb.d.ts is what `imgb flavor types` prints", async () => {
    const cwd = tempDir("imgb-init-");
    const r = await runImgb(["flavor", "init", "acme"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${join(cwd, "acme")}\n`);
    expect(readdirSync(join(cwd, "acme")).sort()).toEqual(SKELETON);
    const types = await runImgb(["flavor", "types"]);
    expect(types.code).toBe(0);
    expect(readFileSync(join(cwd, "acme/imgb.d.ts"), "utf8")).toBe(types.stdout);
    expect(types.stdout).toContain('declare module "imgb" {');
    expect(types.stdout).toContain('declare module "@sinclair/typebox" {');
    expect(JSON.parse(readFileSync(join(cwd, "acme/tsconfig.json"), "utf8")).compilerOptions.paths).toEqual({ imgb: ["./imgb.d.ts"] });
  });

  test("the skeleton passes tsc, and tsc catches a type error in it (the types are real, not any)", async () => {
    const dir = join(tempDir("imgb-init-"), "typed");
    expect((await runImgb(["flavor", "init", "typed", dir])).code).toBe(0);
    expect(await tsc(dir)).toEqual({ code: 0, out: "" });
    const builder = join(dir, "builder.ts");
    writeFileSync(builder, readFileSync(builder, "utf8").replace("Object.keys(this.flavorConfig.labels).length", "this.flavorConfig.labels.length.toFixed()"));
    const broken = await tsc(dir);
    expect(broken.code).not.toBe(0);
    expect(broken.out).toContain("builder.ts");
  }, E2E_TIMEOUT);

  test("refuses an invalid or built-in name, and existing files (nothing written)", async () => {
    const cwd = tempDir("imgb-init-");
    for (const [name, message] of [["Bad_Name", "Invalid flavor name 'Bad_Name'"], ["docker", "taken by a built-in flavor"], ["auto", "taken by a built-in flavor"]] as const) {
      const r = await runImgb(["flavor", "init", name], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(readdirSync(cwd)).toEqual([]);
    writeFileSync(join(cwd, "flavor.ts"), "// mine\n");
    const r = await runImgb(["flavor", "init", "mine", "."], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`'${join(cwd, "flavor.ts")}' already exists`);
    expect(readdirSync(cwd)).toEqual(["flavor.ts"]);
    expect(readFileSync(join(cwd, "flavor.ts"), "utf8")).toBe("// mine\n");
    const forced = await runImgb(["flavor", "init", "mine", ".", "--force"], { cwd });
    expect(forced.code).toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(SKELETON);
  });
});

describe.skipIf(!(await requireEngine("docker")))("imgb flavor init, registered and built with docker", () => {
  test("register the skeleton as written, build its stack: the image has its labels; validate() refuses a bad label", async () => {
    const dir = join(tempDir("imgb-init-"), "kit-e2e");
    expect((await runImgb(["flavor", "init", "kit-e2e", dir])).code).toBe(0);
    const env = { IMGB_HOME: tempDir("imgb-home-") };
    const reg = await runImgb(["flavor", "register", "./flavor.ts"], { cwd: dir, env });
    expect(reg.code).toBe(0);
    expect(reg.stdout).toBe("kit-e2e\n");

    // The skeleton's own stack, with the test daemon (docker 20.10 has BuildKit built in).
    const tag = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const stack = readFileSync(join(dir, "imgb.yaml"), "utf8")
      .replace("    labels: { com.example.flavor: kit-e2e }\n", `    labels: { com.example.flavor: kit-e2e }\n    docker: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\n`)
      .replace("    network: none\n", `    network: none\n    tags: [${tag}]\n`);
    writeFileSync(join(dir, "imgb.yaml"), stack);
    const image = `kit-e2e-hello:${tag}`;
    try {
      const r = await runImgb(["build"], { cwd: dir, env });
      expect(r.stderr).toContain("kit-e2e: adding 1 label(s)");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(image);
      const inspect = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", "--format", "{{json .Config.Labels}}", image]);
      expect(JSON.parse(inspect.stdout.toString())).toMatchObject({ "com.example.flavor": "kit-e2e" });
    } finally {
      Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "image", "rm", "-f", image]);
    }

    const bad = stack.replace("com.example.flavor: kit-e2e", "com.example.flavor: kit-e2e, Team: x");
    writeFileSync(join(dir, "imgb.yaml"), bad);
    const v = await runImgb(["validate"], { cwd: dir, env });
    expect(v.code).toBe(2);
    // Located at the value of labels.Team.
    const lines = bad.split("\n");
    const line = lines.findIndex((l) => l.includes("Team: x"));
    const col = lines[line]!.indexOf("Team: x") + "Team: ".length + 1;
    expect(v.stderr).toBe(`${join(dir, "imgb.yaml")}:${line + 1}:${col}: error: Flavor 'kit-e2e': label 'Team' is not namespaced (at /image_builder/config/labels/Team) (hint: use reverse DNS, like com.example.team)\n`);
  }, E2E_TIMEOUT);
});
