import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { hardlink, link, makeTree, tempDir } from "../../test/context/_tree.ts";
import { StreamedEntries } from "./_streamed.ts";
import { EntryTable } from "./_table.ts";
import { WalkCursor } from "./_walk_cursor.ts";
import { BuildContext } from "./build_context.ts";
import { IgnoreMatcher } from "./ignore.ts";
import { TarWriter } from "./tar.ts";

const work = tempDir("streamed");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bytes = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());

function tarOf(entries: StreamedEntries): Uint8Array {
  const w = new TarWriter(entries, { mtime: 0 });
  const parts: Uint8Array[] = [];
  for (let c = w.next(); c; c = w.next()) parts.push(c);
  return Buffer.concat(parts);
}

test("windows of any size, down to one row, cut anywhere: pending excluded dirs, forced paths and hard links across windows", async () => {
  const ignore = "x\n!x/a/b/keep\nDockerfile\nbuild\n";
  const root = makeTree(join(work, "t"), {
    ".dockerignore": ignore,
    "Dockerfile": "FROM scratch\n",
    "build/ci/Dockerfile": "FROM scratch\n",
    "h0": "h",
    "x/a/b/keep": "k",
    "x/a/b/drop": "d",
    "x/z": "z",
    "y/h1": hardlink("h0"),
    "y/s": link("../h0"),
    "y/ü/😀": "e",
  });
  const want = await bytes(new BuildContext({ root, dockerfile: "build/ci/Dockerfile" }).stream());
  const matcher = IgnoreMatcher.parse(ignore);
  for (const rows of [1, 2, 3, 5, 8, 1000]) {
    const cursor = new WalkCursor(root, { matcher, forced: ["build/ci/Dockerfile", ".dockerignore"] });
    expect([rows, Buffer.compare(tarOf(new StreamedEntries(cursor, process.cwd(), rows)), want)]).toEqual([rows, 0]);
  }
  const cursor = new WalkCursor(root, { matcher, forced: ["build/ci/Dockerfile", ".dockerignore"] });
  expect(Buffer.compare(tarOf(new StreamedEntries(cursor, process.cwd(), 1000, 20)), want)).toBe(0); // by bytes
});

test("an entry below a non-directory is refused with the snapshot path's message, within and across windows", () => {
  const fake = (paths: [string, "dir" | "file" | "symlink"][]) =>
    ({
      base: "",
      fill(out: EntryTable, maxRows = Infinity) {
        while (paths.length > 0 && out.length < maxRows) {
          const [p, type] = paths.shift()!;
          out.pushRow(p, type, 0o644, 0, 1, 1, 1, undefined, undefined, type === "symlink" ? "t" : undefined);
        }
        return paths.length > 0;
      },
    }) as unknown as WalkCursor;
  for (const rows of [1, 2, 10]) {
    expect(() => tarOf(new StreamedEntries(fake([["a", "dir"], ["a/l", "symlink"], ["a/l/x", "file"]]), process.cwd(), rows))).toThrow(
      'Refusing to send "a/l/x": its parent "a/l" is a symlink in the build context, not a directory',
    );
    expect(() => tarOf(new StreamedEntries(fake([["a", "dir"], ["b/x", "file"]]), process.cwd(), rows))).toThrow('its parent "b" is missing in the build context');
    expect(() => tarOf(new StreamedEntries(fake([["a", "dir"], ["a/b", "dir"], ["a/b/c", "symlink"], ["a/d", "dir"], ["a/d/e", "symlink"], ["f", "symlink"]]), process.cwd(), rows))).not.toThrow();
  }
});
