/**
 * Hardening class "hostile context": what a context directory can hold that a plain tree does
 * not — symlinks out of it, symlink loops, FIFOs, sockets, unreadable files, odd names, huge
 * sparse files. Each case through the compiled binary: the documented exit code, at most one
 * clear line on stderr, no stack trace, nothing written outside the output path, no temp file
 * left in the run's TMPDIR, and no hang (FIFOs are never opened).
 *
 * "Unreadable" as root: permission bits do not stop root and chattr is not available, so the
 * unreadable file is /proc/self/mem named as an extra file: it stats as an empty regular file
 * and its first read fails with EIO, the same on every run.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTar } from "../context/_tar_reader.ts";
import { imgbBinary, runImgb, type RunResult } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

interface Case {
  dir: string;
  ctx: string;
  tmp: string;
  run(args: string[]): Promise<RunResult>;
}

function setup(files: Record<string, string> = { "a.txt": "a\n" }): Case {
  const dir = tempDir("imgb-hostile-");
  const ctx = join(dir, "ctx");
  const tmp = join(dir, "tmp");
  mkdirSync(ctx);
  mkdirSync(tmp);
  writeTree(ctx, files);
  return { dir, ctx, tmp, run: (args) => runImgb(args, { cwd: dir, env: { TMPDIR: tmp } }) };
}

/** One error line, no stack trace, no temp files, nothing beside the context and the tmp dir. */
function expectCleanFailure(c: Case, r: RunResult, code: number, line: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(readdirSync(c.tmp)).toEqual([]);
  expect(readdirSync(c.dir).sort()).toEqual(["ctx", "tmp", ...(existsSync(join(c.dir, "imgb.yaml")) ? ["imgb.yaml"] : [])].sort());
}

describe("imgb context with a hostile context directory", () => {
  test("symlinks out of the context are archived as links; nothing is read through them", async () => {
    const c = setup();
    symlinkSync("/etc", join(c.ctx, "etc"));
    symlinkSync("/etc/passwd", join(c.ctx, "passwd"));
    symlinkSync("../../..", join(c.ctx, "up"));
    const r = await c.run(["context", c.ctx, "-o", join(c.dir, "ctx.tar")]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const items = readTar(new Uint8Array(readFileSync(join(c.dir, "ctx.tar"))), true);
    expect(items.map((i) => `${i.name} ${i.type} ${i.linkname}`)).toEqual(["a.txt 0 ", "etc 2 /etc", "passwd 2 /etc/passwd", "up 2 ../../.."]);
    expect(readdirSync(c.tmp)).toEqual([]);
  });

  test("a symlink loop is archived as two links", async () => {
    const c = setup();
    symlinkSync("loop-b", join(c.ctx, "loop-a"));
    symlinkSync("loop-a", join(c.ctx, "loop-b"));
    const r = await c.run(["context", c.ctx, "--list"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "a.txt\nloop-a\nloop-b\n", stderr: "" });
  });

  test("a Dockerfile reached through a symlink loop: exit 2, one line", async () => {
    const c = setup();
    symlinkSync("loop-b", join(c.ctx, "loop-a"));
    symlinkSync("loop-a", join(c.ctx, "loop-b"));
    const r = await c.run(["context", c.ctx, "--file", join(c.ctx, "loop-a/Dockerfile"), "-o", join(c.dir, "ctx.tar")]);
    expectCleanFailure(c, r, 2, /^error: Dockerfile ".*loop-a\/Dockerfile" is reached through the symlink "loop-a" of the context, which leads to no file/);
  });

  test("a FIFO (no writer) and a socket are skipped with one warning each, never opened", async () => {
    const c = setup();
    Bun.spawnSync(["mkfifo", join(c.ctx, "fifo")]);
    const sock = Bun.spawnSync(["python3", "-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", join(c.ctx, "sock")]);
    expect(sock.exitCode).toBe(0);
    const r = await c.run(["context", c.ctx, "-o", join(c.dir, "ctx.tar")]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual([
      'warning: Skipping FIFO "fifo": only files, directories and symlinks are sent',
      'warning: Skipping socket "sock": only files, directories and symlinks are sent',
    ]);
    expect(readTar(new Uint8Array(readFileSync(join(c.dir, "ctx.tar")))).map((i) => i.name)).toEqual(["a.txt"]);
  }, 20_000);

  test("a FIFO named as an extra file is refused (exit 2) without opening it", async () => {
    const c = setup();
    Bun.spawnSync(["mkfifo", join(c.dir, "tmp", "..", "fifo")]);
    writeFileSync(join(c.dir, "imgb.yaml"), `image_builder:\n  flavor: docker\nimages:\n  app:\n    context: ctx\n    dockerfile_inline: "FROM scratch"\n    extra_files:\n      pipe: { source: fifo }\n`);
    const r = await c.run(["context", "app", "-f", join(c.dir, "imgb.yaml"), "-o", join(c.dir, "ctx.tar")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^error: Extra file ".*fifo" is not a regular file, directory or symlink$/);
    expect(existsSync(join(c.dir, "ctx.tar"))).toBe(false);
  }, 20_000);

  test("an unreadable file (as root: /proc/self/mem, EIO): exit 1, one line naming it, no archive, no temp file", async () => {
    const c = setup();
    writeFileSync(join(c.dir, "imgb.yaml"), `image_builder:\n  flavor: docker\nimages:\n  app:\n    context: ctx\n    dockerfile_inline: "FROM scratch"\n    extra_files:\n      mem: { source: /proc/self/mem }\n`);
    // Outside the stack's directory: allowed explicitly, so the read itself is what fails.
    const r = await c.run(["context", "app", "-f", join(c.dir, "imgb.yaml"), "--allow", "fs.read=/proc/self/mem", "-o", join(c.dir, "ctx.tar")]);
    expectCleanFailure(c, r, 1, /^error: Cannot read "\/proc\/self\/mem": EIO/);
  });

  test("odd names (newline, leading dash, 255 bytes, spaces, non-ASCII) are archived exactly", async () => {
    const long = "n".repeat(255);
    const names = ["-rf", "a\nb", "sp ace", long, "ünï", `d/${long}`];
    const c = setup(Object.fromEntries(names.map((n) => [n, `${n}\n`])));
    const r = await c.run(["context", c.ctx, "-o", join(c.dir, "ctx.tar")]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const items = readTar(new Uint8Array(readFileSync(join(c.dir, "ctx.tar"))), true).filter((i) => i.type !== "x");
    const files = items.filter((i) => i.type === "0");
    expect(files.map((i) => i.name).sort()).toEqual([...names].sort());
    for (const f of files) expect(new TextDecoder().decode(f.data)).toBe(`${f.name}\n`);
    // GNU tar, an independent reader, agrees on the names (it prints a newline as \n).
    const gnu = Bun.spawnSync(["tar", "-tf", join(c.dir, "ctx.tar")]);
    expect(gnu.exitCode).toBe(0);
    expect(gnu.stdout.toString()).toContain("a\\nb\n");
  });

  test("a name that is not valid UTF-8: exit 1, one line, no archive", async () => {
    const c = setup();
    const bad = Bun.spawnSync(["sh", "-c", `printf x > "$1/$(printf 'bad\\377name')"`, "sh", c.ctx]);
    expect(bad.exitCode).toBe(0);
    const r = await c.run(["context", c.ctx, "-o", join(c.dir, "ctx.tar")]);
    expectCleanFailure(c, r, 1, /^error: Cannot send ".*bad.*name": its name is not valid UTF-8$/);
  });

  test("a 9 GiB sparse file: listed at once, streamed with a PAX size record, memory flat", async () => {
    const c = setup();
    const big = join(c.ctx, "big.sparse");
    writeFileSync(big, "");
    truncateSync(big, 9 * 2 ** 30);
    const list = await c.run(["context", c.ctx, "--list"]);
    expect({ code: list.code, stdout: list.stdout }).toEqual({ code: 0, stdout: "a.txt\nbig.sparse\n" });
    // Read the first 64 MiB of the archive, then stop: the header is what is at stake here.
    const proc = Bun.spawn([imgbBinary(), "context", c.ctx, "-o", "-"], { cwd: c.dir, env: { ...process.env, TMPDIR: c.tmp }, stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < 64 << 20) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
    }
    const rss = Number(readFileSync(`/proc/${proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) * 1024;
    // Closing the pipe is how a consumer stops it (imgb is in a blocking write: a signal alone
    // would wait for it); imgb then fails on EPIPE with one line.
    await reader.cancel();
    expect(await proc.exited).toBe(1);
    expect((await new Response(proc.stderr).text()).trim()).toBe("error: Cannot write the archive to stdout: EPIPE: broken pipe");
    const head = Buffer.concat(parts).subarray(0, 8192);
    expect(head.toString("latin1")).toContain(`size=${9 * 2 ** 30}\n`);
    expect(rss).toBeLessThan(400 << 20); // the binary itself is ~110 MB; a buffered 9 GiB would not fit
    expect(readdirSync(c.tmp)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!(await requireEngine("docker")))("imgb build (docker) with odd names and hostile links", () => {
  test("the image holds the odd names and the links as links", async () => {
    const long = "n".repeat(255);
    const name = uniqueRepo("hostile");
    const c = setup({ "-rf": "dash\n", "a\nb": "newline\n", [long]: "long\n", Dockerfile: `FROM ${BASE_IMAGE}\nCOPY . /ctx/\nRUN ls -A1 /ctx | wc -l > /count && readlink /ctx/etc > /link && cat "/ctx/-rf" "/ctx/${long}" > /content\n` });
    symlinkSync("/etc", join(c.ctx, "etc"));
    mkdirSync(join(c.dir, "home"));
    writeFileSync(join(c.dir, "imgb.yaml"), `image_builder:\n  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\nimages:\n  ${name}:\n    context: ctx\n    network: none\n`);
    const r = await runImgb(["build", "-f", join(c.dir, "imgb.yaml")], { cwd: c.dir, env: { TMPDIR: c.tmp, IMGB_HOME: join(c.dir, "home") } });
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "run", "--rm", "--network", "none", `${name}:latest`, "cat", "/count", "/link", "/content"]);
    expect(out.stdout.toString()).toBe("5\n/etc\ndash\nlong\n");
    expect(readdirSync(c.tmp)).toEqual([]);
  }, E2E_TIMEOUT);
});
