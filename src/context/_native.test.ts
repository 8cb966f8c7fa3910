import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { file, hardlink, link, makeTree, tempDir } from "../../test/context/_tree.ts";
import { nativeStatus, nativeTar } from "./_native.ts";
import { writeTarSplit } from "./_split.ts";
import { StreamedEntries } from "./_streamed.ts";
import { EntryTable } from "./_table.ts";
import { WalkCursor, type CursorOptions } from "./_walk_cursor.ts";
import { IgnoreMatcher } from "./ignore.ts";
import { walkTable } from "./walk.ts";
import { TarWriter, type TarEntry, type TarOptions } from "./tar.ts";

const work = tempDir("native");
afterAll(() => rmSync(work, { recursive: true, force: true }));

function archive(entries: TarEntry[], options: Partial<TarOptions> = {}): Buffer {
  const w = new TarWriter(entries, { mtime: 1234567, nativeAfter: 0, ...options });
  const parts: Uint8Array[] = [];
  for (let c = w.next(); c; c = w.next()) parts.push(c.slice());
  return Buffer.concat(parts);
}
const js = (entries: TarEntry[], options: Partial<TarOptions> = {}) => archive(entries, { ...options, native: false });

/** The error `f` throws, as its code and message. */
function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return "no error";
}

let n = 0;
const p155 = "p".repeat(150);
function varied(): { root: string; entries: TarEntry[] } {
  const root = makeTree(join(work, `t${n++}`), {
    "a/empty": "",
    "a/one": "1",
    "a/511": "x".repeat(511),
    "a/512": "y".repeat(512),
    "a/513": "z".repeat(513),
    "a/big": "b".repeat(300_000), // bigger than a 64 KiB chunk: the TypeScript path streams it
    "a/exec": file("#!/bin/sh\n", 0o755),
    "h0": "hard",
    "h1": hardlink("h0"),
    "s": link("../somewhere/else"),
    "s-long": link("t".repeat(101)), // a link target ustar cannot hold: PAX
    "ü/😀": "non-ASCII: PAX",
    [`${"n".repeat(100)}`]: "a 100-byte name",
    [`${p155}/${"q".repeat(100)}`]: "prefix and name",
    [`${"w".repeat(120)}/${"v".repeat(120)}`]: "no split: PAX",
    ...Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`many/d${i % 9}/f${i}`, "m".repeat((i * 97) % 4000)])),
  });
  const table = walkTable(root);
  const entries = table.toArray().map((e) => ({ ...e, source: join(root, e.path) })) as TarEntry[];
  for (let i = 0; i < entries.length; i++) if (entries[i]!.path === "h1") entries[i] = { ...entries[i]!, type: "hardlink", linkTarget: "h0", size: 0 };
  return { root, entries };
}

describe("the native per-file loop", () => {
  test("loads on Linux (compiled by bun:ffi's TinyCC)", () => {
    if (process.platform !== "linux") return expect(nativeTar()).toBeNull();
    expect(nativeTar()).not.toBeNull();
    expect(nativeStatus()).toBe("the native per-file loop is compiled");
  });

  test("writes the TypeScript path's bytes: sizes at block edges, prefix splits, links, PAX entries, inline and unstamped files, small chunks", () => {
    const { root, entries } = varied();
    const inline: TarEntry[] = [...entries, { path: "zz-inline", type: "file", mode: 0o644, size: 6, data: new TextEncoder().encode("inline") }, { path: "zz-unstamped", type: "file", mode: 0o600, size: 1, source: join(root, "a/one") }, { path: "zz-dir", type: "dir", mode: 0o700, size: 0 }];
    for (const chunkSize of [64 << 10, 256 << 10]) {
      const want = js(inline, { chunkSize });
      expect(want.length).toBeGreaterThan(300_000);
      expect([chunkSize, Buffer.compare(archive(inline, { chunkSize }), want)]).toEqual([chunkSize, 0]);
      expect([chunkSize, Buffer.compare(archive(inline, { chunkSize, fragment: true }), js(inline, { chunkSize, fragment: true }))]).toEqual([chunkSize, 0]);
    }
    // GNU tar reads it back, contents included.
    const out = join(work, "varied.tar");
    writeFileSync(out, archive(inline));
    const listing = Bun.spawnSync(["tar", "-tvf", out]).stdout.toString();
    expect(listing).toContain(`${p155}/${"q".repeat(100)}`);
    expect(listing).toContain("h1 link to h0");
    const x = join(work, "x");
    expect(Bun.spawnSync(["mkdir", "-p", x]).exitCode).toBe(0);
    expect(Bun.spawnSync(["tar", "-xf", out, "-C", x]).exitCode).toBe(0);
    expect(readFileSync(join(x, "a/513"), "utf8")).toBe("z".repeat(513));
    expect(readFileSync(join(x, "many/d1/f10"), "utf8")).toBe("m".repeat(970));
    expect(readFileSync(join(x, "zz-inline"), "utf8")).toBe("inline");
  });

  test("from the walk's table and its streamed window (rows, no entry objects): the TypeScript path's bytes and errors", () => {
    const { root } = varied();
    const streamed = () => new StreamedEntries(new WalkCursor(root, { nativeAfter: Infinity }), process.cwd(), 64, 4096);
    for (const chunkSize of [64 << 10, 256 << 10]) {
      const want = js(walkTable(root) as unknown as TarEntry[], { chunkSize });
      expect([chunkSize, Buffer.compare(archive(walkTable(root) as unknown as TarEntry[], { chunkSize }), want)]).toEqual([chunkSize, 0]);
      expect([chunkSize, Buffer.compare(archive(streamed() as unknown as TarEntry[], { chunkSize }), js(streamed() as unknown as TarEntry[], { chunkSize }))]).toEqual([chunkSize, 0]);
    }
    // A root given relative to the working directory: the rows' sources are too.
    const cwd = process.cwd();
    process.chdir(join(root, ".."));
    try {
      const rel = root.slice(root.lastIndexOf("/") + 1);
      expect(Buffer.compare(archive(walkTable(rel) as unknown as TarEntry[], { cwd: process.cwd() }), js(walkTable(root) as unknown as TarEntry[]))).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    // A file rewritten after the walk: the same error as the TypeScript path's.
    const table = walkTable(root);
    writeFileSync(join(root, "many/d2/f11"), "changed");
    const native = failure(() => archive(table as unknown as TarEntry[]));
    expect(native).toMatch(/^context\.changed: File ".*many\/d2\/f11" changed while the build context was being sent/);
    expect(native).toBe(failure(() => js(table as unknown as TarEntry[])));
  });

  test("the same bytes once the JIT has compiled the caller (its integer arguments stay integers)", () => {
    // Without `| 0` on them, the archive went wrong at the ~10th write of this context (an
    // inline file between runs, written through a stream): a run's records at the chunk's
    // start. In a process of its own: what other tests ran first changes what the JIT does.
    const root = makeTree(join(work, `jit${n++}`), { "VERSION": "old", ".dockerignore": "gen\n", "conf/app.yaml": "a: 1", "vendor/tree/x": "x", "vendor/tree/sub/y": "y" });
    const script = join(work, "jit.ts");
    writeFileSync(
      script,
      `import { BuildContext } from ${JSON.stringify(join(import.meta.dir, "build_context.ts"))};
import { nativeTar } from ${JSON.stringify(join(import.meta.dir, "_native.ts"))};
if (nativeTar() === null) throw new Error("no native loop");
const context = () => new BuildContext({ root: process.argv[2] }).addContent("1.2.3\\n", "VERSION").addContent("#!/bin/sh\\n", "gen/run.sh", 0o755);
const want = Buffer.from(await new Response(context().stream()).arrayBuffer());
for (let round = 0; round < 200; round++) {
  const got = Buffer.from(await new Response(context().stream()).arrayBuffer());
  if (Buffer.compare(got, want) !== 0) throw new Error("round " + round + ": the archive differs");
}
await Bun.write(process.argv[3], want);
`,
    );
    const out = join(work, "jit.tar");
    const r = Bun.spawnSync([process.execPath, script, root, out], { stderr: "pipe" });
    expect([r.exitCode, r.stderr.toString()]).toEqual([0, ""]);
    expect(Bun.spawnSync(["tar", "-tf", out]).stdout.toString().split("\n").filter(Boolean)).toEqual([".dockerignore", "VERSION", "conf/", "conf/app.yaml", "gen/", "gen/run.sh", "vendor/", "vendor/tree/", "vendor/tree/sub/", "vendor/tree/sub/y", "vendor/tree/x"]);
  });

  test("a file that changed after the walk, or vanished, fails as it does in the TypeScript path", () => {
    const cases: [string, (path: string) => void][] = [
      ["grew", (p) => appendFileSync(p, "more")],
      ["shrank", (p) => writeFileSync(p, "s")],
      ["rewritten (same size, new ctime)", (p) => writeFileSync(p, "X".repeat(700))],
      ["touched (mtime)", (p) => utimesSync(p, new Date(1_000_000), new Date(1_000_000))],
      ["vanished", (p) => rmSync(p)],
    ];
    for (const [what, change] of cases) {
      const { root } = varied();
      const target = join(root, "many/d3/f12");
      expect(readFileSync(target, "utf8").length).toBe(1164);
      writeFileSync(target, "m".repeat(700)); // a known size, then the walk
      const walked = walkTable(root).toArray().map((e) => ({ ...e, source: join(root, e.path) })) as TarEntry[];
      change(target);
      const native = failure(() => archive(walked));
      expect([what, native]).toEqual([what, failure(() => js(walked))]);
      expect([what, native]).toEqual([what, expect.stringMatching(/^context\.changed: File ".*many\/d3\/f12" (vanished|changed)/)]);
    }
  });

  test("the two threads of a split archive, native, make the TypeScript path's bytes", async () => {
    const { entries } = varied();
    const path = join(work, "split.tar");
    const fd = openSync(path, "w", 0o644);
    try {
      await writeTarSplit(fd, path, path, entries, { mtime: 1234567, cwd: process.cwd(), startAt: { parts: 1, bytes: 0 }, partEntries: 16 });
    } finally {
      closeSync(fd);
    }
    expect(Buffer.compare(readFileSync(path), js(entries))).toBe(0);
  });

  test("compiled leaving nothing in TMPDIR, or from a memory file where TMPDIR is not writable; IMGB_NATIVE=0: the writer does everything itself", () => {
    const { entries } = varied();
    const want = js(entries);
    const list = join(work, "entries.json");
    writeFileSync(list, JSON.stringify(entries));
    const script = join(work, "without.ts");
    writeFileSync(
      script,
      `import { TarWriter } from ${JSON.stringify(join(import.meta.dir, "tar.ts"))};
import { nativeStatus, nativeTar } from ${JSON.stringify(join(import.meta.dir, "_native.ts"))};
const entries = JSON.parse(await Bun.file(process.argv[2]).text());
const w = new TarWriter(entries, { mtime: 1234567, nativeAfter: 0 });
const parts = [];
for (let c = w.next(); c; c = w.next()) parts.push(c.slice());
await Bun.write(process.argv[3], Buffer.concat(parts));
console.log(nativeTar() === null, nativeStatus());
`,
    );
    for (const [env, status] of [
      [{}, "false the native per-file loop is compiled"],
      [{ IMGB_NATIVE: "0" }, "true no native per-file loop (IMGB_NATIVE=0)"],
      // A read-only container: the source goes to a memory file, not to TMPDIR.
      [{ TMPDIR: join(work, "missing") }, "false the native per-file loop is compiled"],
    ] as const) {
      const out = join(work, "without.tar");
      // Nothing is left in the process's temp directory (Bun's cc writes its headers there).
      const tmp = join(work, "tmp");
      rmSync(tmp, { recursive: true, force: true });
      Bun.spawnSync(["mkdir", tmp]);
      const r = Bun.spawnSync([process.execPath, script, list, out], { env: { ...process.env, TMPDIR: tmp, ...env }, stderr: "pipe" });
      if (!("TMPDIR" in env)) expect(readdirSync(tmp)).toEqual([]);
      expect([status, r.exitCode, r.stderr.toString()]).toEqual([status, 0, ""]);
      expect(r.stdout.toString().trim()).toBe(status);
      expect(Buffer.compare(readFileSync(out), want)).toBe(0);
      rmSync(out);
    }
  });

  test("the walk's native directory reads: the same entries, warnings and errors as readdir and lstat", () => {
    const walk = (root: string, nativeAfter: number, options: CursorOptions = {}) => {
      const warnings: string[] = [];
      try {
        const cursor = new WalkCursor(root, { ...options, nativeAfter, onWarning: (w) => warnings.push(w) });
        const table = new EntryTable(cursor.base);
        cursor.fill(table);
        return { entries: table.toArray(), warnings };
      } catch (e) {
        return { error: `${(e as { code?: string }).code}: ${(e as Error).message}`, warnings };
      }
    };
    const same = (root: string, options: CursorOptions = {}) => {
      const want = walk(root, Infinity, options);
      expect(walk(root, 0, options)).toEqual(want);
      return want;
    };
    const { root } = varied();
    // A directory of more names than the first buffers hold (256 names, 16 KiB), in no order on disk.
    for (let i = 0; i < 700; i++) writeFileSync(join(root, "many", `${"long-name-".repeat(4)}${(i * 7919) % 700}`), "");
    expect(Bun.spawnSync(["mkfifo", join(root, "a/fifo")]).exitCode).toBe(0);
    const plain = same(root);
    expect(plain.entries!.length).toBeGreaterThan(1300);
    expect(plain.warnings).toEqual(['Skipping FIFO "a/fifo": only files, directories and symlinks are sent']);
    // Ignore rules with an exception below an excluded directory, and always-included paths.
    const matcher = IgnoreMatcher.parse("many\n!many/d3\na/5*\nü\n");
    const filtered = same(root, { matcher, forced: ["ü/😀", "a/511"] });
    expect(filtered.entries!.map((e) => e.path).filter((p) => p.startsWith("many/d") || p.startsWith("a/5") || p.startsWith("ü"))).toEqual(["a/511", ...filtered.entries!.map((e) => e.path).filter((p) => p.startsWith("many/d3")), "ü", "ü/😀"].sort());
    // A name that is not UTF-8 fails the walk, both ways, with the same message.
    writeFileSync(Buffer.concat([Buffer.from(join(root, "a") + "/bad-"), Buffer.from([0xff, 0xfe])]), "x");
    expect(same(root).error).toMatch(/^context\.bad-name: Cannot send ".*\/a\/bad-\ufffd\ufffd": its name is not valid UTF-8$/);
  });
});
