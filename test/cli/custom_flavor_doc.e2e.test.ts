/**
 * docs/custom-flavor.md, run as written: its file blocks are written to a directory outside the
 * repository, its `sh` blocks run there by `sh -e` with the compiled binary as `imgb` on PATH
 * (and Debian's docker 20.10 as `docker`, DOCKER_HOST the test daemon), the TypeScript is
 * checked by `tsc` against the imgb.d.ts the binary prints, the image the docs build is
 * inspected, and the error the docs quote is provoked and compared.
 */
import { afterAll, describe, expect, test } from "bun:test";
import Ajv from "ajv";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { imgbBinary, repoRoot } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { docBlocks } from "./_doc_blocks.ts";

afterAll(cleanupTempDirs);

const DOC = join(repoRoot, "docs/custom-flavor.md");
const TSC = join(repoRoot, "node_modules/typescript/bin/tsc");

async function run(argv: string[], cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

const docker = (...args: string[]) => Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, ...args]);

describe("docs/custom-flavor.md blocks", () => {
  const blocks = docBlocks(readFileSync(DOC, "utf8"));

  test("every block is a file, commands or quoted output", () => {
    const other = blocks.filter((b) => !b.file && b.lang !== "sh" && b.lang !== "text");
    expect(other.map((b) => `line ${b.line}: \`\`\`${b.lang}`)).toEqual([]);
    expect(blocks.filter((b) => b.file).map((b) => b.file)).toEqual(expect.arrayContaining(["stamped_flavor.ts", "stamped_builder.ts", "stamped_context.ts", "tsconfig.json", "imgb.yaml", "app/Dockerfile"]));
  });
});

describe.skipIf(!(await requireEngine("docker")))("docs/custom-flavor.md, run as written with docker", () => {
  test("files type-check against the shipped imgb.d.ts; the commands register, validate and build; the image is stamped", async () => {
    const blocks = docBlocks(readFileSync(DOC, "utf8"));
    const dir = tempDir("imgb-doc-");
    for (const b of blocks.filter((b) => b.file)) {
      mkdirSync(dirname(join(dir, b.file!)), { recursive: true });
      writeFileSync(join(dir, b.file!), b.body);
    }
    const bin = tempDir("imgb-bin-");
    symlinkSync(imgbBinary(), join(bin, "imgb"));
    symlinkSync(DOCKER_CLI, join(bin, "docker"));
    const release = `1.4.0-doc.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const env: Record<string, string> = {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: process.env.HOME!,
      TMPDIR: process.env.TMPDIR!,
      IMGB_HOME: tempDir("imgb-home-"),
      DOCKER_HOST,
      BASE_IMAGE,
      RELEASE: release,
    };
    const image = `stamped-app:${release}`;
    try {
      const outputs: string[] = [];
      for (const b of blocks.filter((b) => b.lang === "sh")) {
        const r = await run(["sh", "-e", "-c", b.body], dir, env);
        if (r.code !== 0) throw new Error(`sh block at docs line ${b.line} exited ${r.code}:\n${b.body}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
        outputs.push(r.stdout);
      }
      // The last commands build and run the image: it prints the version its context was stamped with.
      expect(outputs.at(-1)!.trim().split("\n")).toEqual([image, release]);
      const labels = JSON.parse(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout.toString());
      expect(labels).toMatchObject({ "org.opencontainers.image.version": release, "org.opencontainers.image.vendor": "Example Corp" });

      // The doc's files and the `imgb flavor init` skeleton compile against the imgb.d.ts the binary printed.
      // (tsc under bun leaves a compile cache in TMPDIR: give it one that is removed.)
      const tscEnv = { PATH: env.PATH!, HOME: env.HOME!, TMPDIR: tempDir("imgb-tsc-") };
      for (const project of [dir, join(dir, "my-flavor")]) {
        const tsc = await run([process.execPath, TSC, "-p", project], project, tscEnv);
        expect({ project, out: tsc.stdout + tsc.stderr, code: tsc.code }).toEqual({ project, out: "", code: 0 });
      }

      // `imgb schema` with the registered flavor: accepted by ajv in strict mode (imgb's
      // annotations declared), the semver format an annotation, the docs' stack valid.
      const schema = await run(["imgb", "schema"], dir, env);
      expect(schema.code).toBe(0);
      const json = JSON.parse(schema.stdout);
      const stamped = json.properties.image_builder.anyOf.find((v: { properties: { flavor: { const: string } } }) => v.properties.flavor.const === "stamped");
      expect(stamped.properties.config.properties.version).toMatchObject({ "x-imgb-format": "semver" });
      expect(stamped.properties.config.properties.version.format).toBeUndefined();
      const ajv = new Ajv({ strict: true, allErrors: true });
      ajv.addVocabulary(["x-imgb-output", "x-imgb-format"]);
      const check = ajv.compile(json);
      const stack = parse(readFileSync(join(dir, "imgb.yaml"), "utf8").replaceAll("${RELEASE:-1.4.0}", "1.4.0").replaceAll("${BASE_IMAGE:-busybox:stable}", "busybox:stable"));
      expect(check(stack) ? [] : check.errors).toEqual([]);

      // The error the docs quote: the stack without its vendor, and the default (release) version.
      const quoted = blocks.find((b) => b.lang === "text" && b.body.includes("needs a vendor"))!.body.trim();
      writeFileSync(join(dir, "imgb.yaml"), readFileSync(join(dir, "imgb.yaml"), "utf8").replace(/^ {4}vendor: .*\n/m, ""));
      const { RELEASE: _, ...withoutRelease } = env;
      const v = await run(["imgb", "validate"], dir, withoutRelease);
      expect(v.code).toBe(2);
      expect(v.stderr.replaceAll(`${dir}/`, "").trim()).toBe(quoted);
    } finally {
      docker("image", "rm", "-f", image);
    }
  }, E2E_TIMEOUT * 2);
});
