import { afterAll, expect, test } from "bun:test";
import { appendFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dir, file, hardlink, link, makeTree, tempDir } from "../../test/context/_tree.ts";
import { materialize, type MaterializeOptions } from "./_materialize.ts";
import { BuildContext } from "./build_context.ts";
import type { TarEntry } from "./tar.ts";

const work = tempDir("materialize");
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;

/** The context's entries as the writers take them (content inline, the walk's identity of each file). */
async function entriesOf(context: BuildContext): Promise<TarEntry[]> {
  return (await context.files()).map(({ path, type, mode, size, linkTarget, source, content, identity }) => ({
    path, type, mode, size,
    ...(linkTarget !== undefined ? { linkTarget } : {}),
    ...(source !== undefined ? { source } : {}),
    ...(content !== undefined ? { data: content } : {}),
    ...(identity ? { ino: identity.ino, mtimeMs: identity.mtimeMs, ctimeMs: identity.ctimeMs } : {}),
  }));
}
/** Both threads on every cut: the worker starts at once, parts of `rows` entries. */
const threaded = (rows: number): Partial<MaterializeOptions> => ({ startAt: { parts: 1, bytes: 0 }, partEntries: rows });

async function copy(entries: TarEntry[], options: Partial<MaterializeOptions> = {}): Promise<string> {
  const dest = join(work, `out-${n++}`);
  mkdirSync(dest);
  await materialize(entries, dest, { mtime: 7, cwd: process.cwd(), ...options });
  return dest;
}

/** Everything a copy is judged by: per path its type, mode, mtime, content or target, and which paths share an inode. */
function describe(root: string): string[] {
  const out: string[] = [];
  const inodes = new Map<number, string>();
  const visit = (rel: string) => {
    const st = lstatSync(join(root, rel));
    const mode = (st.mode & 0o7777).toString(8);
    const same = inodes.get(st.ino);
    if (!st.isDirectory()) inodes.set(st.ino, same ?? rel);
    if (st.isDirectory()) {
      if (rel !== "") out.push(`${rel}/ ${mode} ${st.mtimeMs}`);
      for (const name of readdirSync(join(root, rel)).sort()) visit(rel === "" ? name : `${rel}/${name}`);
    } else if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(join(root, rel))} ${st.mtimeMs}`);
    else out.push(`${rel} ${mode} ${st.mtimeMs} ${Bun.hash(readFileSync(join(root, rel)))}${same ? ` = ${same}` : ""}`);
  };
  visit("");
  return out;
}

const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
const tree = () =>
  makeTree(join(work, `t${n++}`), {
    "a/empty": "",
    "a/one": "1",
    "a/big": "x".repeat(3 << 20),
    "bin/run": file("#!/bin/sh", 0o755),
    "bin/shared": file("w", 0o666), // more than the umask leaves: set after creation
    "h0": "h",
    "h1": hardlink("h0"),
    "ro/": dir(0o555),
    "ro2/f": "f",
    "s": link("../somewhere/else"),
    "ü/😀": "e",
    [long]: "long",
    ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`many/f${i}`, "m".repeat(i * 97)])),
  });

test("two threads copy the tree one thread copies, cut anywhere: contents, modes, mtimes, symlinks, hard links", async () => {
  const context = new BuildContext({ root: tree(), sourceDateEpoch: 7 }).addContent("FROM scratch\n", "ro2/Dockerfile");
  const entries = await entriesOf(context);
  const want = describe(await copy(entries)); // main thread alone (small)
  expect(want).toContain("h1 644 7000 " + `${Bun.hash("h")} = h0`);
  expect(want).toContain("ro/ 555 7000");
  expect(want.filter((l) => l.startsWith("bin/"))).toEqual(["bin/ 755 7000", `bin/run 755 7000 ${Bun.hash("#!/bin/sh")}`, `bin/shared 666 7000 ${Bun.hash("w")}`]);
  expect(want).toContain("s -> ../somewhere/else 7000");
  expect(want).toContain(`ro2/Dockerfile 644 7000 ${Bun.hash("FROM scratch\n")}`);
  expect(want).toContain(`a/big 644 7000 ${Bun.hash("x".repeat(3 << 20))}`);
  for (const rows of [1, 2, 3, 7, 1000]) expect([rows, describe(await copy(entries, threaded(rows)))]).toEqual([rows, want]);
});

test("a file that vanished, or a directory that is there already: the error one thread meets first, whichever thread met it", async () => {
  const root = tree();
  const entries = await entriesOf(new BuildContext({ root, sourceDateEpoch: 7 }));
  const missing = (path: string): TarEntry => ({ path, type: "file", mode: 0o644, size: 3, source: join(root, "no-such", path) });
  // A vanished file in "a/" (early), then "many/" made by the main thread as it cuts: it exists.
  const bad = [...entries.slice(0, 2), missing("a/0-gone"), ...entries.slice(2)];
  const run = async (list: TarEntry[], options: Partial<MaterializeOptions>, existing?: string) => {
    const dest = join(work, `bad-${n++}`);
    mkdirSync(existing ? join(dest, existing) : dest, { recursive: true });
    return materialize(list, dest, { mtime: 7, cwd: process.cwd(), ...options }).then(
      () => "no error",
      (e: Error) => `${(e as { code?: string }).code}: ${e.message.replace(dest, "DEST")}`,
    );
  };
  const first = await run(bad, {}, "many");
  expect(first).toBe(`context.changed: File "${join(root, "no-such/a/0-gone")}" changed while the build context was being written: it vanished`);
  // Without the vanished file, the existing directory is the error, met by the main thread between parts.
  const exists = await run(entries, {}, "many");
  expect(exists).toStartWith(`context.io: Cannot write "DEST/many"`);
  for (const rows of [1, 2, 1000]) {
    for (let round = 0; round < 3; round++) {
      expect([rows, await run(bad, threaded(rows), "many")]).toEqual([rows, first]);
      expect([rows, await run(entries, threaded(rows), "many")]).toEqual([rows, exists]);
    }
  }
});

test("a file that grew, shrank or was rewritten after the walk: context.changed, from either thread, small or past one read", async () => {
  for (const size of [10, (256 << 10) + 5]) {
    for (const [how, change] of [
      ["grew", (p: string) => appendFileSync(p, "+")],
      ["shrank", (p: string) => truncateSync(p, size - 1)],
      // Same size, another inode (ctime alone may not move within the clock's tick).
      ["was rewritten or replaced after it was checksummed", (p: string) => (writeFileSync(`${p}.new`, "y".repeat(size)), renameSync(`${p}.new`, p))],
    ] as const) {
      for (const options of [{}, threaded(1)]) {
        const root = makeTree(join(work, `chg${n++}`), { a: "a", f: "x".repeat(size), z: "z" });
        const entries = await entriesOf(new BuildContext({ root, sourceDateEpoch: 7 }));
        change(join(root, "f"));
        const err = await copy(entries, options).catch((e: Error) => e);
        expect([size, how, String(err)]).toEqual([size, how, expect.stringContaining(`File "${join(root, "f")}" changed while the build context was being written: it ${how}`)]);
      }
    }
  }
});

test("writeDirectory of a big context: copied in parts by two threads, the debug line says so", async () => {
  const root = makeTree(join(work, "big"), Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`d${i % 7}/f${i}`, "z".repeat(i % 300)])));
  const debug: string[] = [];
  const out = join(work, "big-out");
  await new BuildContext({ root, sourceDateEpoch: 7 }).writeDirectory(out, { onDebug: (l) => debug.push(l) });
  // 1,500 files and 7 directories: 7 parts, over START_PARTS, so the worker started (and was waited for: it ran).
  expect(debug.join("\n")).toMatch(/^context: 7 parts, \d+ copied by a second thread \(it ran\), \d+ by the main thread$/);
  const single = await copy(await entriesOf(new BuildContext({ root, sourceDateEpoch: 7 })));
  expect(describe(out)).toEqual(describe(single));
});

test("cancelled: CancelledError", async () => {
  const entries = Array.from({ length: 5000 }, (_, i) => ({ path: `f${String(i).padStart(5, "0")}`, type: "file", mode: 0o644, size: 1, data: new Uint8Array([65]) })) as TarEntry[];
  const ac = new AbortController();
  ac.abort();
  await expect(copy(entries, { ...threaded(16), signal: ac.signal })).rejects.toThrow("cancelled");
});
