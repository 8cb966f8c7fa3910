/**
 * Hardening class "unsafe archive": the context tar must never hold an entry below a symlink
 * entry (`s -> /outside`, then `s/Dockerfile`): whoever extracts it writes through the link. A
 * Dockerfile or ignore file reached through a symlink is sent at its real path inside the
 * context, or (leading outside) used from where it really is and not sent below the link; an
 * extra file whose destination goes below a symlink of the context, or holds "..", is refused
 * with one line naming the stack key (exit 2).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../../src/context/build_context.ts";
import { InputError } from "../../src/errors.ts";
import { readTar, type TarItem } from "../context/_tar_reader.ts";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** ctx/ with `s -> outside` (absolute) and `in -> real` (inside); outside/ holds a Dockerfile and an ignore file. */
function fixture(): { dir: string; ctx: string; outside: string } {
  const dir = tempDir("imgb-unsafe-");
  const ctx = join(dir, "ctx");
  const outside = join(dir, "outside");
  writeTree(dir, {
    "ctx/app.txt": "app\n",
    "ctx/real/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY app.txt /app.txt\n`,
    "ctx/real/ign": "nothing-matches-this\n",
    "outside/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY app.txt /app.txt\n`,
    "outside/ign": "nothing-matches-this\n",
  });
  symlinkSync(outside, join(ctx, "s"));
  symlinkSync("real", join(ctx, "in"));
  return { dir, ctx, outside };
}

/** Entries whose path goes below a symlink (or file) entry of the same archive. */
function belowLinks(items: TarItem[]): string[] {
  const kind = new Map(items.map((i) => [i.name.replace(/\/$/, ""), i.type]));
  return items
    .map((i) => i.name.replace(/\/$/, ""))
    .filter((name) => {
      const parts = name.split("/");
      return parts.slice(0, -1).some((_, k) => {
        const t = kind.get(parts.slice(0, k + 1).join("/"));
        return t !== undefined && t !== "5";
      });
    });
}

async function archive(args: string[], cwd: string): Promise<{ items: TarItem[]; code: number; stderr: string }> {
  const out = join(cwd, `out-${Math.random().toString(36).slice(2)}.tar`);
  const r = await runImgb(["context", ...args, "-o", out], { cwd });
  const items = r.code === 0 ? readTar(new Uint8Array(readFileSync(out))) : [];
  return { items, code: r.code, stderr: r.stderr };
}

describe("imgb context: no entry below a symlink entry", () => {
  test("--file and --ignore-file through a link out of the context: used from outside, nothing sent below the link", async () => {
    const f = fixture();
    const { items, code, stderr } = await archive([f.ctx, "--file", join(f.ctx, "s/Dockerfile"), "--ignore-file", join(f.ctx, "s/ign")], f.dir);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(belowLinks(items)).toEqual([]);
    const names = items.map((i) => i.name);
    expect(names).toContain(".imgb/Dockerfile");
    expect(names.filter((n) => n.startsWith("s/"))).toEqual([]);
    expect(items.find((i) => i.name === "s")).toMatchObject({ type: "2", linkname: f.outside });
  });

  test("--file through a link inside the context: sent at its real path", async () => {
    const f = fixture();
    const { items, code } = await archive([f.ctx, "--file", join(f.ctx, "in/Dockerfile"), "--ignore-file", join(f.ctx, "in/ign")], f.dir);
    expect(code).toBe(0);
    expect(belowLinks(items)).toEqual([]);
    expect(items.map((i) => i.name)).toEqual(["app.txt", "in", "real/", "real/Dockerfile", "real/ign", "s"]);
  });

  test("the library sends the Dockerfile at its real path and says so in `dockerfile`", async () => {
    const f = fixture();
    writeFileSync(join(f.ctx, ".dockerignore"), "real\n"); // ignored, yet the Dockerfile is sent
    const context = new BuildContext({ root: f.ctx, dockerfile: "in/Dockerfile", ignoreFile: join(f.ctx, "in/ign") });
    expect(context.dockerfile).toBe("real/Dockerfile");
    expect(context.ignoreFilePath).toBe("real/ign");
    expect((await context.files()).map((e) => e.path)).toEqual([".dockerignore", "app.txt", "in", "real", "real/Dockerfile", "real/ign", "s"]);
  });

  test("an extra file below a symlink of the context, or with '..', is refused naming it", async () => {
    const f = fixture();
    const below = new BuildContext({ root: f.ctx }).addContent("x", "s/x", 0o644, { path: "/images/app/extra_files/s~1x" });
    const err = await below.files().catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).describe()).toBe('Extra file destination "s/x" goes below "s", a symlink in the build context (at /images/app/extra_files/s~1x)');
    expect(() => new BuildContext({ root: f.ctx }).addContent("x", "a/../x")).toThrow('Invalid destination "a/../x" in the build context');
  });
});

describe("imgb with a stack: extra_files below a symlink", () => {
  test("exit 2, one line naming the key, no stack trace, nothing written", async () => {
    const f = fixture();
    writeFileSync(join(f.dir, "imgb.yaml"), `image_builder:\n  flavor: docker\nimages:\n  app:\n    context: ctx\n    dockerfile: real/Dockerfile\n    extra_files:\n      s/planted: { content: "x" }\n`);
    const r = await runImgb(["context", "app", "-f", join(f.dir, "imgb.yaml"), "-o", join(f.dir, "out.tar")], { cwd: f.dir });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual([
      'error: Extra file destination "s/planted" goes below "s", a symlink in the build context (at /images/app/extra_files/s~1planted) (hint: Choose a destination that is not under a symlink of the context, or ignore the link in .dockerignore)',
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(f.outside).sort()).toEqual(["Dockerfile", "ign"]);
    expect(readdirSync(f.dir).sort()).toEqual(["ctx", "imgb.yaml", "outside"]);
  });
});

describe.skipIf(!(await requireEngine("docker")))("imgb build (docker): Dockerfile and ignore file through a link out of the context", () => {
  test("builds (on main the daemon refused the archive and imgb said the Dockerfile was missing)", async () => {
    const f = fixture();
    const name = uniqueRepo("unsafe");
    mkdirSync(join(f.dir, "home"));
    writeFileSync(
      join(f.dir, "imgb.yaml"),
      `image_builder:\n  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\nimages:\n  ${name}:\n    context: ctx\n    dockerfile: s/Dockerfile\n    dockerignore: ctx/s/ign\n    network: none\n`,
    );
    const r = await runImgb(["build", "-f", join(f.dir, "imgb.yaml")], { cwd: f.dir, env: { IMGB_HOME: join(f.dir, "home") } });
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout.trim()).toBe(`${name}:latest`);
  }, E2E_TIMEOUT);
});
