import { afterAll, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { hardlink, link, makeTree, tempDir } from "../../test/context/_tree.ts";
import { writeTarSplit, type SplitOptions } from "./_split.ts";
import { BuildContext } from "./build_context.ts";
import { TarWriter, type TarEntry } from "./tar.ts";

const work = tempDir("split");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bytes = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());

function serial(entries: TarEntry[]): Uint8Array {
  const w = new TarWriter(entries, { mtime: 7 });
  const parts: Uint8Array[] = [];
  for (let c = w.next(); c; c = w.next()) parts.push(c);
  return Buffer.concat(parts);
}

let n = 0;
async function split(entries: TarEntry[], options: Partial<SplitOptions> = {}): Promise<Uint8Array> {
  const path = join(work, `out-${n++}.tar`);
  const fd = openSync(path, "w", 0o644);
  try {
    await writeTarSplit(fd, path, path, entries, { mtime: 7, cwd: process.cwd(), ...options });
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(path);
  rmSync(path);
  return out;
}

/** Both threads on every cut: the worker starts at once, parts of `rows` entries. */
const threaded = (rows: number): Partial<SplitOptions> => ({ startAt: { parts: 1, bytes: 0 }, partEntries: rows });

const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
const tree = () => {
  const root = makeTree(join(work, `t${n++}`), {
    "a/empty": "",
    "a/one": "1",
    "a/block": "b".repeat(512),
    "a/big": "x".repeat(3 << 20),
    "h0": "h",
    "h1": hardlink("h0"),
    "s": link("../somewhere/else"),
    "ü/😀": "e",
    [long]: "long",
    ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`many/f${i}`, "m".repeat(i * 97)])),
  });
  return root;
};

test("the parts, written by either thread at their offsets, make the one-thread archive's bytes, cut anywhere", async () => {
  const root = tree();
  const context = new BuildContext({ root, sourceDateEpoch: 7 });
  const entries = (await context.files()) as TarEntry[];
  const want = serial(entries);
  expect(Buffer.compare(await split(entries), want)).toBe(0); // main thread alone (small)
  for (const rows of [1, 2, 3, 7, 1000]) expect([rows, Buffer.compare(await split(entries, threaded(rows)), want)]).toEqual([rows, 0]);
  // First entry needs PAX: the leading ./ entry goes before part 0.
  const pax = [{ path: long, type: "dir", mode: 0o755, size: 0 }, ...entries.filter((e) => e.path !== long)] as TarEntry[];
  expect(Buffer.compare(await split(pax, threaded(1)), serial(pax))).toBe(0);
  // Inline contents (a generated Dockerfile) reach the worker too.
  const inline = [...entries, { path: "zz/Dockerfile", type: "file", mode: 0o644, size: 13, data: new TextEncoder().encode("FROM scratch\n") }] as TarEntry[];
  expect(Buffer.compare(await split([{ path: "zz", type: "dir", mode: 0o755, size: 0 }, ...inline].sort((a, b) => (a.path < b.path ? -1 : 1)) as TarEntry[], threaded(2)), serial([{ path: "zz", type: "dir", mode: 0o755, size: 0 }, ...inline].sort((a, b) => (a.path < b.path ? -1 : 1)) as TarEntry[]))).toBe(0);
  expect(Buffer.compare(await split([]), serial([]))).toBe(0);
});

test("writeArchive to a path: a big one-shot context is written in parts, same bytes as a stream; the debug line tells who wrote them", async () => {
  const root = makeTree(join(work, "big"), Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`d${i % 7}/f${i}`, "z".repeat(i % 300)])));
  const context = new BuildContext({ root });
  const want = await bytes(context.stream());
  const out = join(work, "big.tar");
  const debug: string[] = [];
  await new BuildContext({ root }).writeArchive(out, { oneShot: true, onDebug: (l) => debug.push(l) });
  expect(Buffer.compare(readFileSync(out), want)).toBe(0);
  // 1,500 entries: 6 parts, over START_PARTS, so the worker started (and was waited for: it ran).
  expect(debug.join("\n")).toMatch(/^context: 6 parts, \d+ written by a second thread \(it ran\), \d+ by the main thread$/);
  rmSync(out);
});

test("a file that vanished: the error of the earliest part, whichever thread met it; no temp file left", async () => {
  const root = tree();
  const entries = (await new BuildContext({ root, sourceDateEpoch: 7 }).files()) as TarEntry[];
  const missing = (path: string): TarEntry => ({ path, type: "file", mode: 0o644, size: 3, source: join(root, "no-such", path) });
  const bad = [...entries, missing("zz1"), missing("zz2")];
  let serialError: unknown;
  try {
    serial(bad);
  } catch (e) {
    serialError = e;
  }
  expect(String(serialError)).toContain("zz1");
  for (const rows of [1, 2, 1000]) {
    for (let round = 0; round < 3; round++) {
      const err = await split(bad, threaded(rows)).catch((e: unknown) => e);
      expect([rows, (err as Error).message, (err as { code?: string }).code]).toEqual([rows, (serialError as Error).message, "context.changed"]);
    }
  }
  // Through writeArchive: the temp file is removed, nothing under the final name.
  const dir = makeTree(join(work, "gone"), Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`f${i}`, "q"])));
  const context = new BuildContext({ root: dir });
  await context.files(); // snapshot taken: the file below vanishes after the walk
  rmSync(join(dir, "f1400"));
  const out = join(work, "gone.tar");
  await expect(context.writeArchive(out)).rejects.toThrow(`File "${join(dir, "f1400")}" vanished while the build context was being sent`);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(work).filter((f) => f.startsWith("gone.tar"))).toEqual([]);
});

test("cancelled: CancelledError", async () => {
  const entries = Array.from({ length: 5000 }, (_, i) => ({ path: `f${String(i).padStart(5, "0")}`, type: "file", mode: 0o644, size: 1, data: new Uint8Array([65]) })) as TarEntry[];
  const ac = new AbortController();
  ac.abort();
  await expect(split(entries, { ...threaded(16), signal: ac.signal })).rejects.toThrow("cancelled");
});
