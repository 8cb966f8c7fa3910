/**
 * The flavor author's kit through the compiled binary, no engine needed: the `validate(config)`
 * hook (at stack load, located at file:line:col; at registration, refusing a broken hook), a
 * stack's flavor file shadowing a registered one, `imgb schema` with a flavor's own format and
 * `--builtin` (the same bytes whatever is registered), and `imgb flavor describe auto`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import Ajv from "ajv";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** A flavor file whose builder is never needed here (validation only). */
const flavorFile = (name: string, body: { config: string; validate?: string; head?: string }) => `
import { FormatRegistry, Type, defineFlavor } from "imgb";
${body.head ?? ""}
export default defineFlavor({
  contractVersion: 2,
  name: ${JSON.stringify(name)},
  type: "image_builder",
  description: "test flavor ${name}",
  config: ${body.config},
  ${body.validate ? `validate: ${body.validate},` : ""}
  implementation: async () => { throw new Error("not built in these tests"); },
});
`;

const checked = flavorFile("checked", {
  config: `Type.Object({
    mode: Type.Union([Type.Literal("fast"), Type.Literal("safe")], { default: "fast" }),
    workers: Type.Optional(Type.Integer({ minimum: 1 })),
    cache: Type.Optional(Type.Object({ dir: Type.String() }, { additionalProperties: false })),
  }, { additionalProperties: false })`,
  // Async, and sees the defaults filled in (mode).
  validate: `async (config) => {
    const problems = [];
    if (config.mode === "fast" && config.cache === undefined) problems.push("mode fast needs a cache");
    if (config.workers !== undefined && config.workers > 8) problems.push({ path: "/workers", message: "at most 8 workers", hint: "lower workers" });
    if (config.cache?.dir.startsWith("/")) problems.push({ path: "cache/dir", message: "cache.dir must be relative" });
    if (config.workers === 7) throw new Error("seven is unlucky");
    return problems;
  }`,
});

const stack = (config: string, head = "") => `${head}image_builder:
  flavor: checked
  config:
${config}
images:
  app:
    dockerfile_inline: "FROM scratch"
`;

describe("validate(config) hook", () => {
  const dir = tempDir("imgb-kit-");
  const home = tempDir("imgb-home-");
  writeTree(dir, { "checked.ts": checked });

  test("registration runs it on the defaults and accepts problems it reports there", async () => {
    const r = await runImgb(["flavor", "register", join(dir, "checked.ts")], { env: { IMGB_HOME: home } });
    expect(r.stderr).toBe(`Registered flavor 'checked' from '${join(dir, "checked.ts")}'\n`);
    expect(r.code).toBe(0);
  });

  test("describe says the flavor validates its config; JSON has validates: true", async () => {
    const text = await runImgb(["flavor", "describe", "checked"], { env: { IMGB_HOME: home } });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("\nThe flavor also checks the config itself (validate): imgb validate reports what it finds.\n");
    const json = await runImgb(["flavor", "describe", "checked", "--json"], { env: { IMGB_HOME: home } });
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "checked", validates: true });
    const docker = await runImgb(["flavor", "describe", "docker", "--json"], { env: { IMGB_HOME: home } });
    expect(JSON.parse(docker.stdout)).toMatchObject({ name: "docker", validates: false });
  });

  test("at stack load: every problem at its key's file:line:col, a message without a path at the config", async () => {
    writeTree(dir, { "bad.yaml": stack("    workers: 9\n    cache: { dir: /abs }\n    mode: fast") });
    const r = await runImgb(["validate", "-f", join(dir, "bad.yaml")], { env: { IMGB_HOME: home } });
    expect(r.code).toBe(2);
    const f = join(dir, "bad.yaml");
    expect(r.stderr.trim().split("\n")).toEqual([
      `${f}:4:14: error: Flavor 'checked': at most 8 workers (at /image_builder/config/workers) (hint: lower workers)`,
      `${f}:5:19: error: Flavor 'checked': cache.dir must be relative (at /image_builder/config/cache/dir)`,
      "2 errors",
    ]);
    writeTree(dir, { "nocache.yaml": stack("    workers: 2") });
    const n = await runImgb(["validate", "-f", join(dir, "nocache.yaml")], { env: { IMGB_HOME: home } });
    expect(n.code).toBe(2);
    // No path: the config itself (its mapping, line 4).
    expect(n.stderr).toBe(`${join(dir, "nocache.yaml")}:4:5: error: Flavor 'checked': mode fast needs a cache (at /image_builder/config)\n`);
    writeTree(dir, { "good.yaml": stack("    workers: 2\n    mode: safe") });
    const g = await runImgb(["validate", "-f", join(dir, "good.yaml")], { env: { IMGB_HOME: home } });
    expect(g.stderr).toBe(`${join(dir, "good.yaml")}: valid (flavor checked, 1 image: app)\n`);
    expect(g.code).toBe(0);
  });

  test("runs for a flavor file the stack lists (no registration) too", async () => {
    writeTree(dir, { "listed.yaml": stack("    workers: 9\n    mode: safe", "flavors: [./checked.ts]\n") });
    const r = await runImgb(["validate", "-f", join(dir, "listed.yaml")], { env: { IMGB_HOME: tempDir("imgb-home-") } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${join(dir, "listed.yaml")}:5:14: error: Flavor 'checked': at most 8 workers (at /image_builder/config/workers) (hint: lower workers)\n`);
  });

  test("a hook that throws for a config: one line naming the flavor and its file, exit 2", async () => {
    writeTree(dir, { "seven.yaml": stack("    workers: 7\n    mode: safe") });
    const r = await runImgb(["validate", "-f", join(dir, "seven.yaml")], { env: { IMGB_HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(`${join(dir, "seven.yaml")}:4:5: error: Flavor 'checked' (${join(dir, "checked.ts")}): validate() threw: seven is unlucky (at /image_builder/config)`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  for (const [name, validate, message] of [
    ["throws", `() => { throw new Error("boom"); }`, "validate() threw: boom"],
    ["not-a-list", `() => ({ problems: [] })`, "validate() returned object, not a list"],
    ["bad-problem", `() => [{ msg: "x" }]`, `validate() returned a problem that is neither a string nor { message, path? }: {"msg":"x"}`],
    ["not-a-function", `"yes"`, "'validate' must be a function"],
  ] as const) {
    test(`registration refuses a broken hook: ${name}`, async () => {
      const file = join(dir, `${name}.ts`);
      writeTree(dir, { [`${name}.ts`]: flavorFile(name, { config: "Type.Object({ level: Type.Integer({ default: 1 }) })", validate }) });
      const h = tempDir("imgb-home-");
      const r = await runImgb(["flavor", "register", file], { env: { IMGB_HOME: h } });
      expect(r.code).toBe(2);
      expect(r.stderr).toStartWith(`${file}: error: Flavor '${name}'`);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      const list = await runImgb(["flavor", "list", "--json"], { env: { IMGB_HOME: h } });
      expect(JSON.parse(list.stdout).map((f: { name: string }) => f.name)).not.toContain(name);
    });
  }
});

describe("a stack's flavor file shadowing a registered flavor", () => {
  test("warns naming both files, and the stack's own file is the one used", async () => {
    const registered = tempDir("imgb-kit-");
    const mine = tempDir("imgb-kit-");
    const home = tempDir("imgb-home-");
    writeTree(registered, { "shade.ts": flavorFile("shade", { config: "Type.Object({ a: Type.String() }, { additionalProperties: false })" }) });
    writeTree(mine, {
      "shade.ts": flavorFile("shade", { config: "Type.Object({ b: Type.String() }, { additionalProperties: false })" }),
      "imgb.yaml": 'flavors: [./shade.ts]\nimage_builder:\n  flavor: shade\n  config: { b: "x" }\nimages:\n  app: { dockerfile_inline: "FROM scratch" }\n',
    });
    expect((await runImgb(["flavor", "register", join(registered, "shade.ts")], { env: { IMGB_HOME: home } })).code).toBe(0);
    const r = await runImgb(["validate"], { cwd: mine, env: { IMGB_HOME: home } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `warning: flavor 'shade' from '${join(mine, "shade.ts")}' (listed in ${join(mine, "imgb.yaml")}:1:11) shadows the registered flavor 'shade' from '${join(registered, "shade.ts")}'\n` +
        `${join(mine, "imgb.yaml")}: valid (flavor shade, 1 image: app)\n`,
    );
    // The same file registered and listed: nothing is shadowed.
    const same = tempDir("imgb-home-");
    expect((await runImgb(["flavor", "register", join(mine, "shade.ts")], { env: { IMGB_HOME: same } })).code).toBe(0);
    const quiet = await runImgb(["validate"], { cwd: mine, env: { IMGB_HOME: same } });
    expect(quiet.stderr).toBe(`${join(mine, "imgb.yaml")}: valid (flavor shade, 1 image: app)\n`);
    expect(quiet.code).toBe(0);
  });
});

describe("imgb schema", () => {
  const semver = flavorFile("semverish", {
    head: `FormatRegistry.Set("semver", (v) => /^\\d+\\.\\d+\\.\\d+$/.test(v));`,
    config: `Type.Object({ version: Type.String({ format: "semver", pattern: "^\\\\d+\\\\.\\\\d+\\\\.\\\\d+$" }), tag: Type.String({ format: "semver" }) }, { additionalProperties: false })`,
  });

  const strictAjv = () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    ajv.addVocabulary(["x-imgb-output", "x-imgb-format"]);
    return ajv;
  };

  test("--builtin is the same bytes whatever is registered and wherever it runs; plain schema has the registered flavor, its format portable", async () => {
    const dir = tempDir("imgb-kit-");
    writeTree(dir, { "semverish.ts": semver });
    const withFlavor = tempDir("imgb-home-");
    const empty = tempDir("imgb-home-");
    expect((await runImgb(["flavor", "register", join(dir, "semverish.ts")], { env: { IMGB_HOME: withFlavor } })).code).toBe(0);

    const a = await runImgb(["schema", "--builtin"], { cwd: dir, env: { IMGB_HOME: withFlavor } });
    const b = await runImgb(["schema", "--builtin"], { cwd: tempDir(), env: { IMGB_HOME: empty, HOME: tempDir() } });
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toContain("semverish");
    expect(a.stdout).not.toMatch(/"\/(tmp|home|root|usr|work)\//);
    const variants = JSON.parse(a.stdout).properties.image_builder.anyOf.map((v: { properties: { flavor: { const: string } } }) => v.properties.flavor.const);
    expect(variants).toEqual(["docker", "podman", "buildah", "oci", "auto"]);
    strictAjv().compile(JSON.parse(a.stdout));

    const full = await runImgb(["schema"], { env: { IMGB_HOME: withFlavor } });
    expect(full.code).toBe(0);
    const json = JSON.parse(full.stdout);
    const variant = json.properties.image_builder.anyOf.find((v: { properties: { flavor: { const: string } } }) => v.properties.flavor.const === "semverish");
    const props = variant.properties.config.properties;
    expect(props.version).toEqual({ type: "string", pattern: "(?:^\\d+\\.\\d+\\.\\d+$)|\\$\\{", "x-imgb-format": "semver" });
    expect(props.tag).toEqual({ type: "string", "x-imgb-format": "semver" });
    // A validator in strict mode compiles it (it refuses an unknown format) and checks the pattern kept.
    const check = strictAjv().compile(json);
    const stack = (version: string) => ({ image_builder: { flavor: "semverish", config: { version, tag: "x" } }, images: { app: { dockerfile_inline: "FROM scratch" } } });
    expect(check(stack("1.2.3"))).toBe(true);
    expect(check(stack("1.2"))).toBe(false);
    expect(() => new Ajv({ strict: true }).compile({ type: "string", format: "semver" })).toThrow(/unknown format "semver"/);
  });

  test("imgb validates the flavor's own format (FormatRegistry in the flavor file)", async () => {
    const dir = tempDir("imgb-kit-");
    writeTree(dir, {
      "semverish.ts": semver,
      "imgb.yaml": "flavors: [./semverish.ts]\nimage_builder:\n  flavor: semverish\n  config: { version: 1.2.3, tag: not-semver }\nimages:\n  app: { dockerfile_inline: \"FROM scratch\" }\n",
    });
    const r = await runImgb(["validate"], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-") } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${join(dir, "imgb.yaml")}:4:34: error: Expected string to match 'semver' format, got 'not-semver' (at /image_builder/config/tag)\n`);
  });
});

describe("imgb flavor describe auto", () => {
  test("explains auto; with no engine on PATH it says auto builds with oci", async () => {
    const r = await runImgb(["flavor", "describe", "auto"], { env: { PATH: tempDir("imgb-empty-path-"), IMGB_HOME: tempDir("imgb-home-") } });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("auto (built-in): The first engine found (docker, podman, buildah), else oci.\n");
    expect(r.stdout).toContain("At build time imgb probes docker, then podman, then buildah");
    for (const engine of ["docker", "podman", "buildah"]) expect(r.stdout).toMatch(new RegExp(`\\n  ${engine} +not available: Binary "${engine}" not found`));
    expect(r.stdout).toEndWith("  => auto builds with: oci\n");
  });

  test("a misspelt auto is suggested", async () => {
    const r = await runImgb(["flavor", "describe", "atuo"], { env: { IMGB_HOME: tempDir("imgb-home-") } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: Unknown flavor 'atuo' (hint: did you mean 'auto'?)\n");
  });

  test("--json: the order, the fallback, every probe and the choice", async () => {
    const r = await runImgb(["flavor", "describe", "auto", "--json"], { env: { PATH: tempDir("imgb-empty-path-"), IMGB_HOME: tempDir("imgb-home-") } });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ name: "auto", origin: "builtin", order: ["docker", "podman", "buildah"], fallback: "oci", chosen: "oci" });
    expect(j.probes.map((p: { flavor: string; result: { available: boolean } }) => [p.flavor, p.result.available])).toEqual([["docker", false], ["podman", false], ["buildah", false]]);
  });
});
