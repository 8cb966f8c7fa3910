import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { readTar } from "../../test/context/_tar_reader.ts";
import { hardlink, link, makeTree, tempDir } from "../../test/context/_tree.ts";
import { EntryTable } from "./_table.ts";
import { BuildContext } from "./build_context.ts";
import { comparePaths, walkContext, walkTable } from "./walk.ts";

const work = tempDir("entry-table");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const long = `${"deep/".repeat(60)}${"n".repeat(120)}`; // > 255 bytes: a PAX path
const unicode = "dír/ünï😀code-\u4e2d\u6587.txt"; // 2-, 3- and 4-byte UTF-8

describe("EntryTable", () => {
  test("rows round-trip: long, unicode and PAX paths, links, numbers, missing times", () => {
    const t = new EntryTable("base/dir", 2, 4096); // tiny chunks and blocks: crosses many boundaries
    const rows = [
      { path: "a", type: "dir" as const, mode: 0o755, size: 0, dev: 1, ino: 2, nlink: 3 },
      { path: long, type: "file" as const, mode: 0o4755, size: 2 ** 40 + 7, dev: 2 ** 52, ino: 2 ** 50 + 1, nlink: 1, mtimeMs: 1700000000123.5, ctimeMs: 1700000000456.25 },
      { path: unicode, type: "file" as const, mode: 0o644, size: 12, dev: 1, ino: 9, nlink: 2, mtimeMs: 0, ctimeMs: 0 },
      { path: "l", type: "symlink" as const, mode: 0o777, size: 0, dev: 1, ino: 10, nlink: 1, linkTarget: "../ü/t" },
    ];
    for (let i = 0; i < 500; i++) rows.push({ path: `f/${i}-${"x".repeat(i % 40)}`, type: "file" as const, mode: 0o600, size: i, dev: 1, ino: 100 + i, nlink: 1, mtimeMs: i, ctimeMs: i + 1 });
    for (const r of rows) t.push(r);
    expect(t.length).toBe(rows.length);
    rows.forEach((r, i) => {
      expect(t.path(i)).toBe(r.path);
      expect(t.at(i)).toEqual({ ...r, source: `base/dir/${r.path}` });
    });
    expect(t.at(rows.length)).toBeUndefined();
    expect(t.at(-1)?.path).toBe(rows.at(-1)!.path);
    expect(t.toArray().map((e) => e.path)).toEqual(rows.map((r) => r.path));
  });

  test("a row made a hard link: type, size 0, target; source kept", () => {
    const t = new EntryTable("");
    t.push({ path: "a", type: "file", mode: 0o644, size: 5, dev: 1, ino: 7, nlink: 2, mtimeMs: 1, ctimeMs: 2 });
    t.push({ path: "b", type: "file", mode: 0o644, size: 5, dev: 1, ino: 7, nlink: 2, mtimeMs: 1, ctimeMs: 2 });
    expect(t.inode(0)).toBe(t.inode(1));
    t.makeHardlink(1, "a");
    expect(t.at(1)).toMatchObject({ path: "b", source: "b", type: "hardlink", size: 0, linkTarget: "a", ino: 7, mtimeMs: 1, ctimeMs: 2 });
  });
});

test("pushChild copies the parent's bytes; paths never straddle blocks; chunks and blocks of any fill", () => {
  const t = new EntryTable("", 4, 4096);
  const want: string[] = [];
  const dirs: number[] = [-1];
  for (let i = 0; i < 3000; i++) {
    const parent = dirs[i % dirs.length]!;
    const name = i % 7 === 0 ? `ü😀-${i}-${"y".repeat(i % 300)}` : `n${i}`;
    const path = parent < 0 ? name : `${want[parent]}/${name}`;
    if (path.length > 1000) continue;
    if (i % 5 === 0) t.pushRow(path, "dir", 0o755, 0, 3, i, 1);
    else t.pushChild(parent, name, i % 3 === 0 ? "dir" : "file", 0o644, i, 3, i, 1, i, i);
    want.push(path);
    if (t.type(want.length - 1) === "dir" && dirs.length < 20) dirs.push(want.length - 1);
  }
  expect(t.length).toBe(want.length);
  want.forEach((p, i) => {
    expect(t.path(i)).toBe(p);
    expect(t.pathLength(i)).toBe(Buffer.byteLength(p));
  });
  expect(() => t.pushRow("x".repeat(5000), "file", 0, 0, 0, 0, 1)).toThrow(/too long to archive/);
  expect(() => new EntryTable("").pushRow("x".repeat(70000), "file", 0, 0, 0, 0, 1)).toThrow(/too long to archive/); // past 16 bits, in a 1 MiB block
  expect(t.length).toBe(want.length); // nothing half-added
});

test("device numbers of any size and count round-trip; nlink is capped at 255", () => {
  const t = new EntryTable("");
  const devs = [0, 1, 2 ** 53 - 1, 66305, 1, 0];
  devs.forEach((dev, i) => t.pushRow(`f${i}`, "file", 0, 0, dev, i, i === 0 ? 70000 : 2));
  expect(devs.map((_, i) => t.at(i)!.dev)).toEqual(devs);
  expect(t.nlink(0)).toBe(255);
  expect(t.inode(2)).toBe(`${2 ** 53 - 1}:2`);
});

test("byte-level comparePaths, parentLength and startsWithPath agree with the string functions", () => {
  const paths = ["a", "a/b", "a.b", "a/b/c", "ab", "\uffff", "😀", "ü", "é/x", "e", "a/", "", "z/y/x"];
  const t = new EntryTable("");
  for (const p of paths) t.push({ path: p, type: "file", mode: 0, size: 0, dev: 0, ino: 0, nlink: 1 });
  paths.forEach((p, i) => {
    expect(t.parentLength(i)).toBe(Buffer.byteLength(p.slice(0, Math.max(0, p.lastIndexOf("/")))) - (p.includes("/") ? 0 : 1));
    expect(t.pathLength(i)).toBe(Buffer.byteLength(p));
    paths.forEach((q, j) => {
      expect([i, j, Math.sign(t.comparePaths(i, j))]).toEqual([i, j, Math.sign(comparePaths(p, q))]);
      expect([i, j, t.startsWithPath(i, j)]).toEqual([i, j, p.startsWith(q)]);
    });
  });
});

describe("the walk into a table", () => {
  const root = makeTree(join(work, "tree"), { [long]: "long", [unicode]: "uni", "h1": "same", "h2": hardlink("h1"), "s": link(unicode), "z/a": "a" });

  test("walkTable and walkContext agree", () => {
    const table = walkTable(root);
    expect(table.toArray()).toEqual(walkContext(root) as never);
    expect(table.length).toBeGreaterThan(60);
  });

  test("the table path (nothing added) and the map path (an extra) send the same archive for the walked files", async () => {
    const plain = new BuildContext({ root, ignoreFile: null });
    const withExtra = new BuildContext({ root, ignoreFile: null }).addContent("x", "zz-extra");
    const a = readTar(new Uint8Array(await new Response(plain.stream()).arrayBuffer()));
    const b = readTar(new Uint8Array(await new Response(withExtra.stream()).arrayBuffer())).filter((e) => e.name !== "zz-extra");
    expect(a).toEqual(b);
    expect(a.find((e) => e.name === long)).toBeDefined();
    expect(a.find((e) => e.name === "h2")).toMatchObject({ linkname: "h1" });
  });

  test("the SDK view (files()) of a table snapshot: objects with absolute sources and identities", async () => {
    const files = await new BuildContext({ root, ignoreFile: null }).files();
    const h2 = files.find((f) => f.path === "h2")!;
    const h1 = files.find((f) => f.path === "h1")!;
    expect(h2).toMatchObject({ type: "hardlink", size: 0, linkTarget: "h1", source: join(root, "h2") });
    expect(h2.identity).toEqual(h1.identity!);
    expect(h1.identity!.size).toBe(4);
    expect(files.find((f) => f.path === unicode)).toMatchObject({ type: "file", size: 3, source: join(root, unicode) });
    expect(files.find((f) => f.path === "s")).toMatchObject({ type: "symlink", linkTarget: unicode });
  });

  test("every parent checked on the table's bytes: an excluded directory re-included below still sends its parents", async () => {
    const r = makeTree(join(work, "nested"), { ".dockerignore": "a\n!a/b/c/keep\n", "a/b/c/keep": "k", "a/b/c/drop": "d", "a/x": "x", "b/ü/z": "z" });
    const files = await new BuildContext({ root: r }).files();
    expect(files.map((f) => f.path)).toEqual([".dockerignore", "a", "a/b", "a/b/c", "a/b/c/keep", "b", "b/ü", "b/ü/z"]);
  });
});
