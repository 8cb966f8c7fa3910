/**
 * install.sh against local directories of release files (never the network): the real release
 * for the install that must run, small fake releases for target selection and failures. Run
 * with dash (Debian's /bin/sh) and BusyBox sh (what Alpine has) to keep it POSIX.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/binary.ts";
import { requireTool } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { HOST_TARGET, MUSL_TARGET, RELEASE_TIMEOUT, releaseBuild, run, sha256File } from "./_release.ts";

afterAll(cleanupTempDirs);
const haveBusybox = await requireTool("busybox"); // package busybox-static (scripts/testenv.sh)

const INSTALL_SH = join(repoRoot, "install.sh");
const ALL = ["linux-x64", "linux-x64-musl", "linux-arm64", "linux-arm64-musl", "darwin-x64", "darwin-arm64"];
const BASE_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin" };

/** A release directory whose "binaries" are one line naming their target. */
function fakeRelease(): string {
  const dir = tempDir("imgb-fake-release-");
  const sums: string[] = [];
  for (const t of ALL) {
    const content = `fake imgb for ${t}\n`;
    writeFileSync(join(dir, `imgb-${t}`), content);
    sums.push(`${new Bun.CryptoHasher("sha256").update(content).digest("hex")}  imgb-${t}\n`);
  }
  writeFileSync(join(dir, "SHA256SUMS"), sums.join(""));
  return dir;
}

async function install(args: string[], env: Record<string, string> = {}, shell = "sh") {
  const prefix = tempDir("imgb-prefix-");
  const argv = shell === "busybox" ? [Bun.which("busybox")!, "sh", INSTALL_SH] : [shell, INSTALL_SH];
  const r = await run([...argv, "--prefix", prefix, ...args], { env: { ...BASE_ENV, ...env }, cwd: prefix });
  const installed = join(prefix, "bin", "imgb");
  const content = existsSync(installed) ? await Bun.file(installed).text() : undefined;
  return { ...r, prefix, installed, content };
}

describe("install.sh", () => {
  test(
    "installs the release binary for this machine, verified, and it runs",
    async () => {
      const { dir } = await releaseBuild();
      const r = await install(["--from", dir]);
      expect(r.stderr).toContain(`installing imgb-${HOST_TARGET} from ${dir}`);
      expect(r.stderr).toContain("checksum OK");
      expect(r.code).toBe(0);
      expect(await sha256File(r.installed)).toBe(await sha256File(join(dir, `imgb-${HOST_TARGET}`)));
      const v = await run([r.installed, "version"]);
      expect(v.code).toBe(0);
      expect(v.stdout).toStartWith("imgb ");
    },
    RELEASE_TIMEOUT,
  );

  test(
    "IMGB_INSTALL_LIBC=musl picks the musl binary (which cannot run on this glibc host: said, not fatal)",
    async () => {
      const { dir } = await releaseBuild();
      const r = await install(["--from", dir], { IMGB_INSTALL_LIBC: "musl" });
      expect(r.code).toBe(0);
      expect(await sha256File(r.installed)).toBe(await sha256File(join(dir, `imgb-${MUSL_TARGET}`)));
    },
    RELEASE_TIMEOUT,
  );

  test("detection: this Debian host is glibc; an ldd that says musl makes it musl", async () => {
    const from = fakeRelease();
    const arch = HOST_TARGET.split("-")[1];
    expect((await install(["--from", from])).content).toBe(`fake imgb for linux-${arch}\n`);
    // A fake `ldd` first on PATH, printing what musl's ldd prints for --version.
    const bin = tempDir("imgb-fake-ldd-");
    writeTree(bin, { ldd: "#!/bin/sh\necho 'musl libc (x86_64)' >&2\necho 'Version 1.2.4' >&2\nexit 1\n" });
    chmodSync(join(bin, "ldd"), 0o755);
    const musl = await install(["--from", from], { PATH: `${bin}:${BASE_ENV.PATH}` });
    expect(musl.code).toBe(0);
    expect(musl.content).toBe(`fake imgb for linux-${arch}-musl\n`);
  });

  test("os/arch overrides and aliases: darwin ignores libc, aarch64 is arm64, --target skips detection", async () => {
    const from = fakeRelease();
    expect((await install(["--from", from], { IMGB_INSTALL_OS: "Darwin", IMGB_INSTALL_ARCH: "arm64", IMGB_INSTALL_LIBC: "musl" })).content).toBe("fake imgb for darwin-arm64\n");
    expect((await install(["--from", from], { IMGB_INSTALL_OS: "Linux", IMGB_INSTALL_ARCH: "aarch64", IMGB_INSTALL_LIBC: "glibc" })).content).toBe("fake imgb for linux-arm64\n");
    expect((await install(["--from", from], { IMGB_INSTALL_ARCH: "amd64", IMGB_INSTALL_LIBC: "musl" })).content).toBe("fake imgb for linux-x64-musl\n");
    expect((await install(["--from", from, "--target", "darwin-x64"])).content).toBe("fake imgb for darwin-x64\n");
  });

  test("a tampered binary is refused with a checksum error, exit 1, nothing installed", async () => {
    const from = fakeRelease();
    writeFileSync(join(from, `imgb-${HOST_TARGET}`), "evil\n");
    const r = await install(["--from", from]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`checksum mismatch for imgb-${HOST_TARGET}`);
    expect(r.content).toBeUndefined();
  });

  test(
    "a tampered real binary (one byte flipped) is refused too",
    async () => {
      const { dir } = await releaseBuild();
      const from = tempDir("imgb-tampered-");
      cpSync(dir, from, { recursive: true });
      const bin = join(from, `imgb-${HOST_TARGET}`);
      const bytes = new Uint8Array(await Bun.file(bin).arrayBuffer());
      bytes[bytes.length - 100]! ^= 0xff;
      await Bun.write(bin, bytes);
      const r = await install(["--from", from]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("checksum mismatch");
      expect(existsSync(r.installed)).toBe(false);
    },
    RELEASE_TIMEOUT,
  );

  test("missing files and entries are errors with exit 1", async () => {
    const from = fakeRelease();
    writeFileSync(join(from, "SHA256SUMS"), "0000  imgb-other\n");
    const noEntry = await install(["--from", from]);
    expect(noEntry.code).toBe(1);
    expect(noEntry.stderr).toContain(`SHA256SUMS from '${from}' has no entry for imgb-${HOST_TARGET}`);
    const empty = tempDir();
    const noSums = await install(["--from", empty]);
    expect(noSums.code).toBe(1);
    expect(noSums.stderr).toContain("has no file 'SHA256SUMS'");
    const nowhere = await install(["--from", join(empty, "missing")]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain("neither a directory nor an http(s) URL");
  });

  test("usage errors and unsupported machines exit 2", async () => {
    const from = fakeRelease();
    const cases: [string[], Record<string, string>, string][] = [
      [["--from", from, "--version", "1.0.0"], {}, "drop --version"],
      [["--bogus"], {}, "unknown argument '--bogus'"],
      [["--from"], {}, "--from needs a value"],
      [["--from", from, "--target", "windows-x64"], {}, "unknown target 'windows-x64'"],
      [["--from", from], { IMGB_INSTALL_OS: "FreeBSD" }, "unsupported operating system 'FreeBSD'"],
      [["--from", from], { IMGB_INSTALL_ARCH: "riscv64" }, "unsupported architecture 'riscv64'"],
      [["--from", from], { IMGB_INSTALL_LIBC: "uclibc" }, "IMGB_INSTALL_LIBC must be glibc or musl"],
    ];
    for (const [args, env, message] of cases) {
      const r = await install(args, env);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
      expect(r.content).toBeUndefined();
    }
  });

  test("--help prints the usage from the file's header", async () => {
    const r = await run(["sh", INSTALL_SH, "--help"], { env: BASE_ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--from DIR|URL");
    expect(r.stdout).not.toContain("set -eu");
  });

  test.skipIf(!haveBusybox)("runs under BusyBox sh with BusyBox tools only (as on Alpine)", async () => {
    // A PATH of BusyBox applets only: sha256sum, awk, cp, mktemp… but no ldd and no curl.
    const applets = tempDir("imgb-busybox-");
    for (const a of ["sh", "sha256sum", "awk", "cp", "mv", "rm", "mkdir", "chmod", "mktemp", "uname", "cut", "sed", "cat", "getconf"]) {
      Bun.spawnSync(["ln", "-s", Bun.which("busybox")!, join(applets, a)]);
    }
    const from = fakeRelease();
    const r = await install(["--from", from], { PATH: applets, IMGB_INSTALL_LIBC: "musl" }, "busybox");
    expect(r.stderr).toContain("checksum OK");
    expect(r.code).toBe(0);
    expect(r.content).toBe(`fake imgb for ${MUSL_TARGET}\n`);
  });
});
