/**
 * Round trip through independent readers: the archive extracted by GNU tar and by Python's
 * tarfile must give back the source tree (names, types, modes, link targets, content, hard
 * links). Plus a 9 GiB sparse file, which needs a PAX `size` record.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { closeSync, existsSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../../src/context/build_context.ts";
import { readTar } from "./_tar_reader.ts";
import { dir, file, hardlink, link, makeTree, tempDir } from "./_tree.ts";

const work = tempDir("roundtrip");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const long120 = "d".repeat(120);
const TREE = {
  "plain.txt": "hello\n",
  "empty.txt": "",
  "block.bin": "x".repeat(512),
  "block+1.bin": "y".repeat(513),
  "big.bin": new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 251),
  "exec.sh": file("#!/bin/sh\necho hi\n", 0o755),
  "secret": file("s", 0o600),
  "setgid-dir/": dir(0o2775),
  "empty-dir/": dir(),
  "ünïcödé/файл-名前.txt": "unicode\n",
  "emoji-😀.txt": "e",
  [`${"p".repeat(150)}/${"n".repeat(49)}`]: "200-byte name, ustar prefix split",
  [`${long120}/x.txt`]: "a segment over 100 bytes: the name part fits, the prefix holds the rest",
  [`${"q".repeat(101)}`]: "one 101-byte name: needs PAX",
  [`deep/${"s".repeat(90)}/${"t".repeat(90)}/${"u".repeat(90)}/leaf`]: "needs PAX: no split fits",
  "links/rel": link("../plain.txt"),
  "links/abs": link("/etc/hostname"),
  "links/dangling": link("does/not/exist"),
  "links/dir": link("../empty-dir"),
  "links/long": link(`../${"z".repeat(150)}`),
  "links/unicode": link("../ünïcödé/файл-名前.txt"),
  "hard/one": "shared inode\n",
  "hard/two": hardlink("hard/one"),
  "hard/three": hardlink("hard/one"),
};

type Described = Record<string, string>;

/** path -> "type mode detail" for every entry under root; hard links as "=> first path". */
function describeTree(root: string): Described {
  const out: Described = {};
  const seen = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[p] = `symlink -> ${readlinkSync(join(root, p))}`;
      else if (st.isDirectory()) {
        out[p] = `dir ${mode}`;
        walk(p);
      } else {
        const sha = createHash("sha256").update(readFileSync(join(root, p))).digest("hex").slice(0, 16);
        const key = `${st.dev}:${st.ino}`;
        out[p] = `file ${mode} ${sha}${st.nlink > 1 ? ` group=${seen.get(key) ?? p}` : ""}`;
        if (!seen.has(key)) seen.set(key, p);
      }
    }
  };
  walk("");
  return out;
}

describe("round trip through GNU tar and Python tarfile", () => {
  const src = makeTree(join(work, "src"), TREE);
  const archive = join(work, "context.tar");

  test("GNU tar extracts the same tree", async () => {
    await new BuildContext({ root: src }).writeArchive(archive);
    const out = join(work, "gnu");
    Bun.spawnSync(["mkdir", "-p", out]);
    const p = Bun.spawnSync(["tar", "-xpf", archive, "-C", out], { stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  test("Python tarfile extracts the same tree", async () => {
    await new BuildContext({ root: src }).writeArchive(archive);
    const out = join(work, "python");
    const script = `import tarfile,sys
with tarfile.open(sys.argv[1]) as t:
    kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
    t.extractall(sys.argv[2], **kw)`;
    const p = Bun.spawnSync(["python3", "-c", script, archive, out], { stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(describeTree(out)).toEqual(describeTree(src));
  });

  test("headers: owner 0:0, no names, fixed mtime, PAX only where needed, plain first entry", async () => {
    const bytes = new Uint8Array(await new Response(new BuildContext({ root: src, sourceDateEpoch: 1234567890 }).stream()).arrayBuffer());
    const items = readTar(bytes);
    expect(new Set(items.map((i) => `${i.uid}:${i.gid}:${i.uname}:${i.gname}:${i.mtime}`))).toEqual(new Set(["0:0:::1234567890"]));
    expect(bytes[156]).toBe("0".charCodeAt(0)); // first header is a plain file, not a PAX record
    // Exactly the entries that cannot be ustar carry a PAX record.
    const raw = Buffer.from(bytes).toString("latin1");
    const paxPaths = [...raw.matchAll(/\d+ path=([^\n]*)\n/g)].map((m) => Buffer.from(m[1]!, "latin1").toString("utf8"));
    expect(paxPaths.sort()).toEqual(
      [
        `deep/${"s".repeat(90)}/${"t".repeat(90)}/${"u".repeat(90)}/`,
        `deep/${"s".repeat(90)}/${"t".repeat(90)}/${"u".repeat(90)}/leaf`,
        `${long120}/`, // 121 bytes with no inner "/": no split
        `${"p".repeat(150)}/`,
        "q".repeat(101),
        "emoji-😀.txt",
        "ünïcödé/",
        "ünïcödé/файл-名前.txt",
      ].sort(),
    );
    expect([...raw.matchAll(/\d+ linkpath=/g)].length).toBe(2); // links/long, links/unicode
    expect(bytes.subarray(bytes.length - 1024).every((b) => b === 0)).toBe(true);
    expect(bytes.length % 512).toBe(0);
  });

  test("when the first entry needs PAX, a plain './' directory entry comes first", async () => {
    const only = makeTree(join(work, "unicode-first"), { "éé/x": "1" });
    const bytes = new Uint8Array(await new Response(new BuildContext({ root: only }).stream()).arrayBuffer());
    expect(new TextDecoder().decode(bytes.subarray(0, 2))).toBe("./");
    expect(String.fromCharCode(bytes[156]!)).toBe("5");
    expect(readTar(bytes).map((i) => i.name)).toEqual(["./", "éé/", "éé/x"]);
    const t = Bun.spawnSync(["tar", "-tf", "-"], { stdin: bytes });
    expect(t.stdout.toString()).toBe("./\néé/\néé/x\n");
  });
});

describe("a 9 GiB sparse file (PAX size)", () => {
  /**
   * Reading 9 GiB of holes is fast only when the kernel already has the zero pages cached, so
   * the file lives in the gitignored test/.tmp and is reused between runs. The archive is
   * written sparse too (all-zero chunks skipped, then truncated to length) so that GNU tar and
   * Python can list it by seeking, without 9 GiB more I/O.
   */
  test("is archived with a PAX size record that GNU tar and Python read back", async () => {
    const root = join(import.meta.dir, "../.tmp/sparse-9g");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "small.txt"), "s");
    const size = 9 * 1024 ** 3;
    if (!existsSync(join(root, "huge.img")) || statSync(join(root, "huge.img")).size !== size) {
      expect(Bun.spawnSync(["truncate", "-s", String(size), join(root, "huge.img")]).exitCode).toBe(0);
    }
    const archive = join(work, "sparse.tar");
    const fd = openSync(archive, "w");
    const zero = new Uint8Array(1 << 20);
    let total = 0;
    for await (const chunk of new BuildContext({ root }).stream()) {
      if (chunk.length !== zero.length || Buffer.compare(chunk, zero) !== 0) writeSync(fd, chunk, 0, chunk.length, total);
      total += chunk.length;
    }
    ftruncateSync(fd, total);
    closeSync(fd);
    // huge.img sorts first and its header needs PAX, so a plain "./" entry leads the archive.
    expect(total).toBe(512 /* ./ */ + 1024 /* pax */ + 512 + size + 1024 /* small.txt */ + 1024);
    const list = Bun.spawnSync(["tar", "-tvf", archive], { stderr: "pipe" });
    expect(list.stderr.toString()).toBe("");
    expect(list.stdout.toString()).toMatch(new RegExp(`0/0 +${size} 1970-01-01 00:00 huge\\.img\n`));
    const py = Bun.spawnSync(["python3", "-c", "import tarfile,sys\nfor m in tarfile.open(sys.argv[1]): print(m.name, m.size)", archive]);
    expect(py.stdout.toString()).toContain(`huge.img ${size}\n`);
  }, 120_000);
});
