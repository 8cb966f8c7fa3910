import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, linkSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { writeLayer } from "../../src/image/layer.ts";
import { extractLayer } from "./rootfs.ts";
import { diffSnapshots, takeSnapshot, type Snapshot } from "./snapshot.ts";

afterAll(cleanupTempDirs);

/** A base tree, a change made to it, and the diff as `type path [-> target] [mode] [uid:gid]` lines. */
function diffOf(change: (root: string) => void, base: Record<string, string> = BASE) {
  const root = tempDir("imgb-snap-");
  writeTree(root, base);
  const before = takeSnapshot(root);
  change(root);
  const diff = diffSnapshots(root, before, takeSnapshot(root));
  const lines = diff.entries.map((e) => `${e.type[0]} ${e.path}${e.linkTarget !== undefined ? ` -> ${e.linkTarget}` : ""} ${e.mode.toString(8)}${e.uid || e.gid ? ` ${e.uid}:${e.gid}` : ""}`);
  return { root, before, diff, lines };
}

const BASE = { "etc/passwd": "root:x:0:0::/root:/bin/sh\n", "etc/motd": "hi\n", "bin/sh": "#!", "usr/share/doc/a": "a", "usr/share/doc/b": "b", "keep/x": "x" };

/** Metadata that a layer round trip keeps (not times or inodes). */
function shape(s: Snapshot): string[] {
  return [...s].map(([p, st]) => `${st.type} ${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.type === "file" ? st.size : ""} ${st.linkTarget ?? ""}`).sort();
}

describe("diffSnapshots", () => {
  test("no change, no entries", () => {
    expect(diffOf(() => {}).lines).toEqual([]);
  });

  test("an added file comes with its parent directories", () => {
    expect(diffOf((r) => writeTree(r, { "opt/app/bin/run": "x" })).lines).toEqual(["d opt 755", "d opt/app 755", "d opt/app/bin 755", "f opt/app/bin/run 644"]);
  });

  test("a modified file: content, mode and owner changes are all seen", () => {
    expect(diffOf((r) => writeFileSync(`${r}/etc/motd`, "hello\n")).lines).toEqual(["d etc 755", "f etc/motd 644"]);
    expect(diffOf((r) => chmodSync(`${r}/bin/sh`, 0o4755)).lines).toEqual(["d bin 755", "f bin/sh 4755"]);
    expect(diffOf((r) => chownSync(`${r}/etc/passwd`, 1000, 1001)).lines).toEqual(["d etc 755", "f etc/passwd 644 1000:1001"]);
  });

  test("a same-size rewrite is seen (mtime and ctime, not just size)", () => {
    expect(diffOf((r) => writeFileSync(`${r}/etc/motd`, "ho\n")).lines).toEqual(["d etc 755", "f etc/motd 644"]);
  });

  test("a deleted file becomes a whiteout in its parent", () => {
    expect(diffOf((r) => rmSync(`${r}/etc/motd`)).lines).toEqual(["d etc 755", "f etc/.wh.motd 0"]);
  });

  test("a deleted tree becomes one whiteout at its top", () => {
    expect(diffOf((r) => rmSync(`${r}/usr/share`, { recursive: true })).lines).toEqual(["d usr 755", "f usr/.wh.share 0"]);
    expect(diffOf((r) => rmSync(`${r}/keep`, { recursive: true })).lines).toEqual(["f .wh.keep 0"]);
  });

  test("a directory replaced by a new one gets an opaque marker and all its content", () => {
    const { lines } = diffOf((r) => {
      writeTree(r, { "usr/share/doc.new/c": "c" });
      rmSync(`${r}/usr/share/doc`, { recursive: true });
      renameSync(`${r}/usr/share/doc.new`, `${r}/usr/share/doc`);
    });
    expect(lines).toEqual(["d usr 755", "d usr/share 755", "d usr/share/doc 755", "f usr/share/doc/.wh..wh..opq 0", "f usr/share/doc/c 644"]);
  });

  test("a file replaced by a directory, and a directory by a file, need no whiteout", () => {
    expect(
      diffOf((r) => {
        rmSync(`${r}/etc/motd`);
        writeTree(r, { "etc/motd/part": "p" });
      }).lines,
    ).toEqual(["d etc 755", "d etc/motd 755", "f etc/motd/part 644"]);
    expect(
      diffOf((r) => {
        rmSync(`${r}/keep`, { recursive: true });
        writeFileSync(`${r}/keep`, "now a file");
      }).lines,
    ).toEqual(["f keep 644"]);
  });

  test("symlinks: added, retargeted, replacing a file", () => {
    expect(diffOf((r) => symlinkSync("/etc/passwd", `${r}/etc/pw`)).lines).toEqual(["d etc 755", "s etc/pw -> /etc/passwd 777"]);
    const base = { ...BASE };
    const { lines } = diffOf((r) => {
      symlinkSync("a", `${r}/usr/share/doc/l`);
      rmSync(`${r}/etc/motd`);
      symlinkSync("passwd", `${r}/etc/motd`);
    }, base);
    expect(lines).toEqual(["d etc 755", "s etc/motd -> passwd 777", "d usr 755", "d usr/share 755", "d usr/share/doc 755", "s usr/share/doc/l -> a 777"]);
  });

  test("hard links: one file and links to it; linking an existing file writes both paths", () => {
    expect(
      diffOf((r) => {
        writeTree(r, { "opt/a": "same" });
        linkSync(`${r}/opt/a`, `${r}/opt/b`);
      }).lines,
    ).toEqual(["d opt 755", "f opt/a 644", "h opt/b -> opt/a 644"]);
    // The existing file's inode changed (its link count): the layer carries both paths (the first
    // in tree order holds the content), so a link never points below the layer.
    expect(diffOf((r) => linkSync(`${r}/etc/passwd`, `${r}/bin/passwd`)).lines).toEqual(["d bin 755", "f bin/passwd 644", "d etc 755", "h etc/passwd -> bin/passwd 644"]);
  });

  test("sockets, FIFOs and devices are left out and reported", () => {
    const { diff } = diffOf((r) => Bun.spawnSync(["mkfifo", `${r}/etc/fifo`]));
    expect(diff.skipped).toEqual(["etc/fifo"]);
    expect(diff.entries.map((e) => e.path)).toEqual(["etc"]); // its mtime changed
  });

  test("excluded paths (the sandbox's mount points) are not compared", () => {
    const root = tempDir("imgb-snap-");
    writeTree(root, { "dev/.keep": "", "etc/a": "a" });
    const exclude = (p: string) => p === "dev" || p.startsWith("dev/");
    const before = takeSnapshot(root, exclude);
    writeTree(root, { "dev/null": "" });
    rmSync(`${root}/dev/.keep`);
    expect(diffSnapshots(root, before, takeSnapshot(root, exclude)).entries).toEqual([]);
  });

  test("the layer is deterministic, and extracting it onto the old tree gives the new one", async () => {
    const change = (r: string) => {
      writeTree(r, { "opt/app/run": "#!/bin/sh\n", "etc/motd": "changed\n" });
      chmodSync(`${r}/opt/app/run`, 0o755);
      linkSync(`${r}/opt/app/run`, `${r}/opt/app/run2`);
      symlinkSync("run", `${r}/opt/app/link`);
      rmSync(`${r}/usr/share/doc/a`);
      rmSync(`${r}/keep`, { recursive: true });
      mkdirSync(`${r}/usr/share/doc2`);
      writeTree(r, { "usr/share/doc2/x": "x" });
      chownSync(`${r}/usr/share/doc2/x`, 7, 8);
    };
    const one = diffOf(change);
    const two = diffOf(change);
    const out = tempDir("imgb-snap-layers-");
    const l1 = await writeLayer(one.diff.entries, `${out}/1.tar.gz`, { mtime: 0, level: 1 });
    const l2 = await writeLayer(two.diff.entries, `${out}/2.tar.gz`, { mtime: 0, level: 1 });
    expect(l2.digest).toBe(l1.digest);
    expect(l2.diffId).toBe(l1.diffId);
    // Apply to a copy of the base: the result has the shape of the changed tree.
    const replay = tempDir("imgb-snap-replay-");
    writeTree(replay, BASE);
    await extractLayer(replay, l1.path);
    expect(shape(takeSnapshot(replay))).toEqual(shape(takeSnapshot(one.root)));
  });
});
