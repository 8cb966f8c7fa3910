/** `imgb context`, run as users run it (through src/main.ts): stdout carries only results. */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeTree, tempDir } from "./_tree.ts";

const work = tempDir("cli");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const main = resolve(import.meta.dir, "../../src/main.ts");

function imgb(args: string[], cwd = work) {
  const p = Bun.spawnSync([process.execPath, main, ...args], { cwd, stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR! } });
  return { code: p.exitCode, stdout: p.stdout, out: p.stdout.toString(), err: p.stderr.toString() };
}

const ctx = makeTree(join(work, "ctx"), {
  "Dockerfile": "FROM scratch\nCOPY . /\n",
  ".dockerignore": "*.log\nbuild/Dockerfile.dockerignore\n",
  "src/app.ts": "x",
  "debug.log": "l",
  "empty/": { dir: true },
});

describe("imgb context DIR", () => {
  test("--list (the default) prints paths, directories with a trailing slash", () => {
    const r = imgb(["context", ctx]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(".dockerignore\nDockerfile\nempty/\nsrc/\nsrc/app.ts\n");
    expect(imgb(["context", "ctx", "--list"]).out).toBe(r.out); // relative to the working directory
  });

  test("--checksum prints sha256 of the archive written by -o", () => {
    const sum = imgb(["context", ctx, "--checksum"]).out.trim();
    expect(sum).toMatch(/^sha256:[0-9a-f]{64}$/);
    const r = imgb(["context", ctx, "-o", join(work, "c.tar")]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("");
    expect(`sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(join(work, "c.tar"))).digest("hex")}`).toBe(sum);
  });

  test("-o - writes the tar to stdout; --gzip compresses it", () => {
    const plain = imgb(["context", ctx, "-o", "-"]);
    expect(plain.code).toBe(0);
    const listed = Bun.spawnSync(["tar", "-tf", "-"], { stdin: plain.stdout }).stdout.toString();
    expect(listed).toBe(".dockerignore\nDockerfile\nempty/\nsrc/\nsrc/app.ts\n");
    const gz = imgb(["context", ctx, "-o", "-", "--gzip"]);
    expect(new Uint8Array(Bun.gunzipSync(new Uint8Array(gz.stdout)))).toEqual(new Uint8Array(plain.stdout));
  });

  test("an archive written inside its own context is left out of itself, with a warning (GNU tar: 'file is the archive; not dumped')", () => {
    const self = makeTree(join(work, "self"), { "Dockerfile": "FROM scratch\n", "a": "a\n" });
    const names = (tar: Uint8Array, z = "") => Bun.spawnSync(["tar", `-t${z}f`, "-"], { stdin: tar }).stdout.toString();
    // One-shot (walked while written), the snapshot path (a checksum follows), gzip.
    for (const extra of [[], ["--checksum"], ["--gzip"]]) {
      const out = join(self, "ctx.tar");
      const r = imgb(["context", ".", "-o", "ctx.tar", ...extra], self);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/^warning: Skipping "ctx\.tar\.tmp-\d+": it is the archive being written \(inside its own context\)\n$/);
      expect(names(readFileSync(out), extra[0] === "--gzip" ? "z" : "")).toBe("Dockerfile\na\n");
      if (extra[0] === "--checksum") expect(r.out.trim()).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(out)).digest("hex")}`);
      rmSync(out);
    }
    // stdout redirected to a file inside the context: the same (a pipe or terminal has no inode to skip).
    const redirected = join(self, "out.tar");
    const fd = openSync(redirected, "w");
    const p = Bun.spawnSync([process.execPath, main, "context", ".", "-o", "-"], { cwd: self, stdout: fd, stderr: "pipe", env: { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR! } });
    closeSync(fd);
    expect(p.exitCode).toBe(0);
    expect(p.stderr.toString()).toBe('warning: Skipping "out.tar": it is the archive being written (inside its own context)\n');
    expect(names(readFileSync(redirected))).toBe("Dockerfile\na\n");
  });

  test("-o - into a file: an empty one is written in parts by two threads, one opened to append gets the archive after its bytes", () => {
    const big = makeTree(join(work, "big"), Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`d${i % 5}/f${i}`, "b".repeat(i % 700)])));
    const want = imgb(["context", big, "-o", "-"]).stdout; // a pipe: the one-thread writer
    const run = (path: string, flags: string) => {
      const fd = openSync(path, flags);
      const p = Bun.spawnSync([process.execPath, main, "context", "--debug", big, "-o", "-"], { cwd: work, stdout: fd, stderr: "pipe", env: { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR! } });
      closeSync(fd);
      expect(p.exitCode).toBe(0);
      return p.stderr.toString();
    };
    const empty = join(work, "empty.tar");
    expect(run(empty, "w")).toMatch(/^debug: context: 6 parts, \d+ written by a second thread \(it ran\), \d+ by the main thread\n$/);
    expect(Buffer.compare(readFileSync(empty), want)).toBe(0);
    const appended = join(work, "appended.tar");
    writeFileSync(appended, "head\n");
    expect(run(appended, "a")).toBe(""); // O_APPEND: written in order, by one thread
    expect(Buffer.compare(readFileSync(appended), Buffer.concat([Buffer.from("head\n"), want]))).toBe(0);
    // The offset ends after the archive, as sequential writes leave it: what the shell writes next follows it.
    const then = join(work, "then.tar");
    const sh = Bun.spawnSync(["sh", "-c", '{ "$0" "$1" context "$2" -o -; echo after; } > "$3"', process.execPath, main, big, then], { cwd: work, stderr: "pipe", env: { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR! } });
    expect(sh.exitCode).toBe(0);
    expect(Buffer.compare(readFileSync(then), Buffer.concat([want, Buffer.from("after\n")]))).toBe(0);
    rmSync(empty);
    rmSync(appended);
    rmSync(then);
  });

  test("--file outside the directory is placed at .imgb/Dockerfile; --ignore-file replaces .dockerignore", () => {
    const df = join(work, "other.Dockerfile");
    writeFileSync(df, "FROM scratch\n");
    writeFileSync(join(work, "only-src.ignore"), "src\n");
    const r = imgb(["context", ctx, "--file", df, "--ignore-file", join(work, "only-src.ignore")]);
    expect(r.out).toBe(".dockerignore\n.imgb/\n.imgb/Dockerfile\nDockerfile\ndebug.log\nempty/\n");
  });

  test("--directory DEST writes the files as a tree (new or empty DEST); refuses a non-empty one; leaves nothing behind on failure", () => {
    const dest = join(work, "tree-out");
    const r = imgb(["context", ctx, "--directory", dest]);
    expect([r.code, r.err, r.out]).toEqual([0, "", ""]);
    expect(readdirSync(dest).sort()).toEqual([".dockerignore", "Dockerfile", "empty", "src"]);
    expect(readFileSync(join(dest, "src/app.ts"), "utf8")).toBe("x");
    expect(lstatSync(join(dest, "Dockerfile")).mtimeMs).toBe(0); // SOURCE_DATE_EPOCH unset: every mtime is 0, as in the archive
    // An empty directory is fine; a non-empty one is refused before anything is written.
    const empty = join(work, "tree-empty");
    mkdirSync(empty);
    expect(imgb(["context", ctx, "--directory", empty]).code).toBe(0);
    const again = imgb(["context", ctx, "--directory", dest]);
    expect([again.code, again.out, again.err.trim().split("\n").length]).toEqual([2, "", 1]);
    expect(again.err).toContain(`--directory "${dest}" is not empty (hint: Give a new path or an empty directory)`);
    expect(imgb(["context", ctx, "--directory", dest, "-o", join(work, "x.tar")]).code).toBe(2);
    // A context that fails after DEST was made (a name that is not UTF-8): DEST is gone again.
    const bad = makeTree(join(work, "bad-name"), { Dockerfile: "FROM scratch\n" });
    writeFileSync(Buffer.concat([Buffer.from(`${bad}/`), Buffer.from([0x66, 0xff])]), "x");
    const gone = join(work, "tree-gone");
    const f = imgb(["context", bad, "--directory", gone]);
    expect(f.code).not.toBe(0);
    expect(f.err).toContain("not valid UTF-8");
    expect(existsSync(gone)).toBe(false);
  });

  test("usage errors exit 2 without output on stdout", () => {
    for (const args of [["context", ctx, "--list", "--checksum"], ["context", ctx, "-o", "-", "--list"], ["context", ctx, "--gzip"], ["context"]]) {
      const r = imgb(args);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 2, out: "" });
    }
  });

  test("a bad ignore file is reported with its path and line", () => {
    const bad = makeTree(join(work, "bad"), { ".dockerignore": "ok\n# fine\nsrc/[\n", a: "a" });
    const r = imgb(["context", bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(bad, ".dockerignore")}:3: `);
    expect(r.err).toContain(`Invalid ignore pattern "src/[": unclosed character class`);
  });
});

describe("imgb context IMAGE -f STACK", () => {
  test("lists an image's context from a stack file", () => {
    writeFileSync(
      join(work, "imgb.yaml"),
      `image_builder:\n  flavor: docker\nimages:\n  app:\n    context: ./ctx\n    extra_files:\n      VERSION: { content: "1.2.3" }\n`,
    );
    const r = imgb(["context", "app", "-f", join(work, "imgb.yaml")], "/");
    expect(r.err).toBe("");
    expect(r.out).toBe(".dockerignore\nDockerfile\nVERSION\nempty/\nsrc/\nsrc/app.ts\n");
    const unknown = imgb(["context", "nope", "-f", join(work, "imgb.yaml")], "/");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('No image "nope"');
  });
});
