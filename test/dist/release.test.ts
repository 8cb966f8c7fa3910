/**
 * scripts/release.ts: the binaries it writes, their SHA256SUMS, the version baked in, and that a
 * release binary ignores the directory it runs in (.env, bunfig.toml, package.json).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { repoRoot } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { HOST_TARGET, MUSL_TARGET, RELEASE_TIMEOUT, releaseBuild, run, sha256File } from "./_release.ts";

afterAll(cleanupTempDirs);

/** The ELF program interpreter (PT_INTERP) of a 64-bit little-endian executable. */
function interpreter(path: string): string {
  const b = readFileSync(path).subarray(0, 64 * 1024);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  for (let i = 0; i < v.getUint16(0x38, true); i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== 3) continue; // PT_INTERP
    const off = Number(v.getBigUint64(ph + 8, true));
    const size = Number(v.getBigUint64(ph + 32, true));
    return new TextDecoder().decode(b.subarray(off, off + size - 1));
  }
  return "";
}

describe("bun run release", () => {
  test(
    "writes imgb-<target> per target, install.sh, imgb.d.ts, and a SHA256SUMS that matches them",
    async () => {
      const { dir, log } = await releaseBuild();
      console.log(log.trimEnd());
      expect(readdirSync(dir).sort()).toEqual(["SHA256SUMS", `imgb-${HOST_TARGET}`, `imgb-${MUSL_TARGET}`, "imgb.d.ts", "install.sh"]);
      const lines = readFileSync(join(dir, "SHA256SUMS"), "utf8").trimEnd().split("\n");
      expect(lines).toHaveLength(4);
      for (const line of lines) {
        const [hash, name] = line.split("  ");
        expect(hash).toMatch(/^[0-9a-f]{64}$/);
        expect(hash).toBe(await sha256File(join(dir, name!)));
        if (name!.startsWith("imgb-")) expect(log).toContain(`${statSync(join(dir, name!)).size} bytes`);
      }
      // The independent check users run.
      const check = await run(["sha256sum", "-c", "SHA256SUMS"], { cwd: dir });
      expect(check.code).toBe(0);
      expect(check.stdout).toContain(`imgb-${MUSL_TARGET}: OK`);
    },
    RELEASE_TIMEOUT,
  );

  test(
    "the glibc and musl binaries have the right program interpreter",
    async () => {
      const { dir } = await releaseBuild();
      expect(interpreter(join(dir, `imgb-${HOST_TARGET}`))).toMatch(/^\/lib(64)?\/ld-linux-(x86-64|aarch64)\.so\.[12]$/);
      expect(interpreter(join(dir, `imgb-${MUSL_TARGET}`))).toMatch(/^\/lib\/ld-musl-(x86_64|aarch64)\.so\.1$/);
    },
    RELEASE_TIMEOUT,
  );

  test(
    "imgb version --json reports package.json's version and the git commit",
    async () => {
      const { hostBinary } = await releaseBuild();
      const r = await run([hostBinary, "version", "--json"], { cwd: tempDir() });
      expect(r.code).toBe(0);
      const v = JSON.parse(r.stdout) as { version: string; commit: string; platform: string };
      const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: repoRoot }).stdout.toString().trim();
      expect(v.version).toBe(pkg.version);
      expect(v.commit).toMatch(new RegExp(`^${head}(-dirty)?$`));
      expect(v.platform).toBe(`linux/${process.arch}`);
      const plain = await run([hostBinary, "version"], { cwd: tempDir() });
      expect(plain.stdout).toStartWith(`imgb ${pkg.version} (${v.commit}, `);
    },
    RELEASE_TIMEOUT,
  );

  test(
    "the binary ignores .env, bunfig.toml and package.json in the directory it runs in",
    async () => {
      const { hostBinary } = await releaseBuild();
      const dir = tempDir();
      writeTree(dir, {
        ".env": "IMGB_TEST_TAG=from-dotenv\n",
        "bunfig.toml": 'preload = ["./missing-preload.ts"]\n',
        "package.json": '{ "name": "other", "version": "9.9.9" }\n',
        "imgb.yaml": 'image_builder: { flavor: docker }\nimages:\n  app: { dockerfile_inline: "FROM scratch", tags: ["${IMGB_TEST_TAG}"] }\n',
      });
      const r = await run([hostBinary, "validate"], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("IMGB_TEST_TAG");
      const v = await run([hostBinary, "version", "--json"], { cwd: dir });
      expect(JSON.parse(v.stdout).version).toBe(pkg.version);
    },
    RELEASE_TIMEOUT,
  );

  test(
    "the released imgb.d.ts is what the binary carries (`imgb flavor types`)",
    async () => {
      const { dir, hostBinary } = await releaseBuild();
      const r = await run([hostBinary, "flavor", "types"], { cwd: tempDir() });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('declare module "imgb" {');
      expect(readFileSync(join(dir, "imgb.d.ts"), "utf8")).toBe(r.stdout);
    },
    RELEASE_TIMEOUT,
  );

  test("an unknown target is a usage error", async () => {
    const r = await run([process.execPath, join(repoRoot, "scripts/release.ts"), "--target", "windows-x64", "--outdir", tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown target 'windows-x64'");
  });
});
