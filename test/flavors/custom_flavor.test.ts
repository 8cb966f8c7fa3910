/**
 * Custom flavors through the compiled binary, with flavor files in temp dirs outside the repo
 * (no node_modules near them): register, list, describe, validate against the custom schema,
 * lazy loading of the implementation, the store under concurrent use, and bad flavor files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** A real builder without an engine: "builds" by writing the context archive to out_dir. */
const archiveFlavor = (name: string, extra = "") => `
import { Type, defineFlavor } from "imgb";
export default defineFlavor({
  name: ${JSON.stringify(name)},
  type: "image_builder",
  description: "Writes the build context as a tar file",
  config: Type.Object({
    out_dir: Type.String({ minLength: 1 }),
    release: Type.String({ pattern: "^v[0-9]+$", description: "Release tag, like v12" }),
  }, { additionalProperties: false }),
  implementation: async () => (await import("./archive_builder.ts")).ArchiveBuilder,
});
${extra}`;

const archiveBuilder = `
import { BaseImageBuilder, BuildContext, type BuildContextOptions } from "imgb";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
// Side effect at import: proves when imgb loads the implementation.
writeFileSync(join(import.meta.dir, "IMPLEMENTATION_LOADED"), "yes");
export class ArchiveBuilder extends BaseImageBuilder<{ out_dir: string; release: string }> {
  get isBuildingLocally() { return true; }
  override get buildContextClass(): typeof BuildContext {
    const release = this.config.release;
    return class extends BuildContext {
      constructor(o?: BuildContextOptions) { super(o); this.addContent(release + "\\n", "RELEASE"); }
    };
  }
  // Written against contract 1 (no contractVersion), which gave the Dockerfile path in options too.
  async build(imageName: string, context: BuildContext, options: { dockerfile?: string }) {
    if (imageName.startsWith("explode")) throw new TypeError("boom inside the builder");
    writeFileSync(join(import.meta.dir, "OPTIONS_DOCKERFILE"), String(options.dockerfile) + " " + context.dockerfile);
    await context.writeArchive(join(this.config.out_dir, imageName.replace(/[/:]/g, "_") + ".tar"));
    return imageName;
  }
}`;

const stack = (flavor: string, config: string, flavorsLine = "") => `${flavorsLine}image_builder:
  flavor: ${flavor}
  config:
${config}
images:
  app:
    context: ctx
`;

let home: string;
let dir: string;
const env = () => ({ IMGB_HOME: home });

beforeAll(() => {
  home = tempDir("imgb-home-");
  dir = tempDir("imgb-flavor-");
  writeTree(dir, {
    "archive_flavor.ts": archiveFlavor("archive"),
    "archive_builder.ts": archiveBuilder,
    "ctx/Dockerfile": "FROM scratch\nCOPY . /\n",
    "ctx/hello.txt": "hi\n",
    "out/.keep": "",
  });
});

describe("custom flavors (compiled binary)", () => {
  test("register, list, describe: the implementation is not imported", async () => {
    const r = await runImgb(["flavor", "register", join(dir, "archive_flavor.ts")], { cwd: dir, env: env() });
    expect(r.stderr).toContain("Registered flavor 'archive'");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("archive\n");
    const list = await runImgb(["flavor", "list", "--json"], { env: env() });
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ name: "archive", origin: join(dir, "archive_flavor.ts"), status: "ok" }));
    const describe = await runImgb(["flavor", "describe", "archive"], { env: env() });
    expect(describe.code).toBe(0);
    expect(describe.stdout).toContain("release: string (^v[0-9]+$)");
    expect(existsSync(join(dir, "IMPLEMENTATION_LOADED"))).toBe(false);
  });

  test("a stack using the registered flavor validates without importing the implementation", async () => {
    writeTree(dir, { "imgb.yaml": stack("archive", `    out_dir: ${join(dir, "out")}\n    release: v3`) });
    const r = await runImgb(["validate", "-f", "imgb.yaml"], { cwd: dir, env: env() });
    expect(r.stderr).toContain("valid");
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "IMPLEMENTATION_LOADED"))).toBe(false);
  });

  test("the custom schema rejects a bad config with file:line:col", async () => {
    writeTree(dir, { "bad.yaml": stack("archive", `    out_dir: /tmp\n    release: "12"\n    colour: red`) });
    const r = await runImgb(["validate", "-f", "bad.yaml"], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, "bad.yaml")}:5:14: error: Invalid value '12': must match ^v[0-9]+$ (at /image_builder/config/release)`);
    expect(r.stderr).toContain(`${join(dir, "bad.yaml")}:6:5: error: Unknown key 'colour'`);
  });

  test("build imports the implementation and uses its BuildContext subclass", async () => {
    const r = await runImgb(["build", "-f", "imgb.yaml"], { cwd: dir, env: env() });
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("app:latest\n");
    expect(existsSync(join(dir, "IMPLEMENTATION_LOADED"))).toBe(true);
    const listing = Bun.spawnSync(["tar", "-tf", join(dir, "out", "app_latest.tar")]).stdout.toString().split("\n").filter(Boolean).sort();
    expect(listing).toEqual(["Dockerfile", "RELEASE", "hello.txt"]);
    const release = Bun.spawnSync(["tar", "-xOf", join(dir, "out", "app_latest.tar"), "RELEASE"]).stdout.toString();
    expect(release).toBe("v3\n");
    // A contract 1 flavor (it declares no version) still gets options.dockerfile, equal to the context's.
    expect(await Bun.file(join(dir, "OPTIONS_DOCKERFILE")).text()).toBe("Dockerfile Dockerfile");
  });

  test("a builder that throws: exit 1, the error names the flavor file, no crash", async () => {
    writeTree(dir, { "explode.yaml": stack("archive", `    out_dir: /tmp\n    release: v1`).replace("  app:", "  explode:") });
    const r = await runImgb(["build", "-f", "explode.yaml"], { cwd: dir, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("boom inside the builder");
    expect(r.stderr).toContain(join(dir, "archive_flavor.ts"));
    expect(r.stderr).not.toContain("internal error");
  });

  test("a stack may list flavor sources directly, without registration", async () => {
    const other = tempDir("imgb-flavor-");
    writeTree(other, {
      "f.ts": archiveFlavor("direct"),
      "archive_builder.ts": archiveBuilder,
      "ctx/Dockerfile": "FROM scratch\n",
      "imgb.yaml": stack("direct", "    out_dir: /tmp\n    release: v1", "flavors: [./f.ts]\n"),
    });
    const r = await runImgb(["validate"], { cwd: other, env: { IMGB_HOME: tempDir() } });
    expect(r.stderr).toContain("valid");
    expect(r.code).toBe(0);
  });

  test("concurrent registrations: every flavor recorded, the store intact", async () => {
    const many = tempDir("imgb-many-");
    const names = Array.from({ length: 8 }, (_, i) => `conc${i}`);
    for (const n of names) writeTree(many, { [`${n}.ts`]: archiveFlavor(n), "archive_builder.ts": archiveBuilder });
    const runs = await Promise.all([
      ...names.map((n) => runImgb(["flavor", "register", join(many, `${n}.ts`)], { env: env() })),
      ...names.slice(0, 4).map((n) => runImgb(["flavor", "register", join(many, `${n}.ts`)], { env: env() })),
    ]);
    for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining("Registered") });
    const list = JSON.parse((await runImgb(["flavor", "list", "--json"], { env: env() })).stdout) as { name: string }[];
    for (const n of names) expect(list.filter((f) => f.name === n)).toHaveLength(1);
  });

  test("remove forgets a flavor; removing again is an error", async () => {
    expect((await runImgb(["flavor", "remove", "conc0"], { env: env() })).code).toBe(0);
    const again = await runImgb(["flavor", "remove", "conc0"], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("No registered flavor 'conc0'");
  });

  test("a moved source is reported; a changed one warned about", async () => {
    const d = tempDir("imgb-moved-");
    writeTree(d, { "m.ts": archiveFlavor("moving"), "archive_builder.ts": archiveBuilder, "ctx/Dockerfile": "FROM scratch\n", "imgb.yaml": stack("moving", "    out_dir: /tmp\n    release: v1") });
    expect((await runImgb(["flavor", "register", join(d, "m.ts")], { env: env() })).code).toBe(0);
    writeFileSync(join(d, "m.ts"), archiveFlavor("moving", "// edited\n"));
    const changed = await runImgb(["validate"], { cwd: d, env: env() });
    expect(changed.code).toBe(0);
    expect(changed.stderr).toContain("changed since it was registered");
    renameSync(join(d, "m.ts"), join(d, "moved.ts"));
    const moved = await runImgb(["validate"], { cwd: d, env: env() });
    expect(moved.code).toBe(2);
    expect(moved.stderr).toContain(`${join(d, "imgb.yaml")}:2:11: error: Flavor 'moving' was registered from '${join(d, "m.ts")}', which no longer exists`);
  });
});

describe("bad flavor files", () => {
  const cases: { name: string; file?: Record<string, string>; path?: string; expect: RegExp }[] = [
    { name: "does not exist", path: "/nonexistent/flavor.ts", expect: /Flavor file not found: '\/nonexistent\/flavor\.ts'/ },
    { name: "exports no flavor", file: { "f.ts": "export const x = 1;\n" }, expect: /does not export a flavor.*hint: export default defineFlavor/ },
    { name: "throws on import", file: { "f.ts": 'throw new Error("kaboom");\n' }, expect: /threw while loading: kaboom/ },
    { name: "syntax error", file: { "f.ts": 'import { Type } from "imgb";\nexport default {\n  name: "x",,\n};\n' }, expect: /f\.ts:3:\d+: error: Flavor file has a syntax error/ },
    { name: "imports an unknown package", file: { "f.ts": 'import { z } from "zod";\nexport default z;\n' }, expect: /imports 'zod', which cannot be found.*from 'imgb'/ },
    { name: "old contract version", file: { "f.ts": 'import { Type } from "imgb";\nexport default { contractVersion: 0, name: "old", type: "image_builder", config: Type.Object({}), implementation: async () => null };\n' }, expect: /Unsupported flavor contract version 0/ },
    { name: "newer contract version, through defineFlavor", file: { "f.ts": 'import { Type, defineFlavor } from "imgb";\nexport default defineFlavor({ contractVersion: 3, name: "future", type: "image_builder", config: Type.Object({}), implementation: async () => null as any });\n' }, expect: /Unsupported flavor contract version 3: this imgb supports versions 1, 2 .*hint: update the flavor to contract 2/ },
    { name: "config is not a TypeBox object", file: { "f.ts": 'import { defineFlavor } from "imgb";\nexport default defineFlavor({ name: "nocfg", type: "image_builder", description: "", config: { type: "object" } as any, implementation: async () => null as any });\n' }, expect: /no TypeBox config schema/ },
    { name: "shadows a built-in", file: { "f.ts": archiveFlavor("docker") }, expect: /Flavor name 'docker' is taken by a built-in flavor/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const d = tempDir("imgb-badflavor-");
      if (c.file) writeTree(d, c.file);
      const r = await runImgb(["flavor", "register", c.path ?? join(d, "f.ts")], { env: { IMGB_HOME: tempDir() } });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(c.expect);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  }
});
