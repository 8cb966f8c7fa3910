import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { writeLayer, type LayerEntry } from "../../src/image/layer.ts";
import { extractLayer, resolveInRoot } from "./rootfs.ts";

afterAll(cleanupTempDirs);

const enc = new TextEncoder();
const file = (path: string, text: string, mode = 0o644, uid = 0, gid = 0): LayerEntry => ({ path, type: "file", mode, size: text.length, data: enc.encode(text), uid, gid });
const dir = (path: string, mode = 0o755): LayerEntry => ({ path, type: "dir", mode, size: 0 });
const link = (path: string, target: string): LayerEntry => ({ path, type: "symlink", mode: 0o777, size: 0, linkTarget: target });

async function layer(entries: LayerEntry[]): Promise<string> {
  const out = tempDir("imgb-rootfs-layer-");
  return (await writeLayer(entries, `${out}/l.tar.gz`, { mtime: 0, level: 1 })).path;
}

describe("resolveInRoot", () => {
  test("symlinks among the parents resolve inside the root, absolute or with ..", () => {
    const root = tempDir("imgb-rootfs-");
    writeTree(root, { "usr/lib/x": "x" });
    symlinkSync("/", `${root}/up`);
    symlinkSync("usr/lib", `${root}/lib`);
    symlinkSync("../../../../..", `${root}/usr/far`);
    expect(resolveInRoot(root, "up/etc/passwd")).toBe("etc/passwd");
    expect(resolveInRoot(root, "lib/x")).toBe("usr/lib/x");
    expect(resolveInRoot(root, "usr/far/etc")).toBe("etc");
    expect(resolveInRoot(root, "../../etc")).toBe("etc");
    // The last component is a link itself unless asked to follow it.
    expect(resolveInRoot(root, "lib")).toBe("lib");
    expect(resolveInRoot(root, "lib", true)).toBe("usr/lib");
  });

  test("a symlink loop is an error, not a hang", () => {
    const root = tempDir("imgb-rootfs-");
    symlinkSync("b", `${root}/a`);
    symlinkSync("a", `${root}/b`);
    expect(() => resolveInRoot(root, "a/x")).toThrow("Too many levels of symbolic links");
  });
});

describe("extractLayer", () => {
  test("files keep modes (setuid included), owners and links; layers apply in order", async () => {
    const root = tempDir("imgb-rootfs-");
    await extractLayer(root, await layer([dir("bin"), file("bin/su", "su", 0o4755, 0, 0), file("home/u/f", "u", 0o600, 1000, 1000), link("bin/sh", "su"), { path: "bin/su2", type: "hardlink", mode: 0o4755, size: 0, linkTarget: "bin/su" }]));
    expect(lstatSync(`${root}/bin/su`).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(`${root}/home/u/f`).uid).toBe(1000);
    expect(readlinkSync(`${root}/bin/sh`)).toBe("su");
    expect(lstatSync(`${root}/bin/su2`).ino).toBe(lstatSync(`${root}/bin/su`).ino);
    await extractLayer(root, await layer([file("bin/su", "new")]));
    expect(readFileSync(`${root}/bin/su`, "utf8")).toBe("new");
  });

  test("whiteouts delete lower paths; opaque markers hide the lower content of a directory", async () => {
    const root = tempDir("imgb-rootfs-");
    await extractLayer(root, await layer([dir("a"), file("a/1", "1"), file("a/2", "2"), dir("b"), file("b/old", "o"), dir("c"), file("c/x", "x")]));
    await extractLayer(root, await layer([dir("a"), file("a/.wh.1", ""), file(".wh.c", ""), dir("b"), file("b/.wh..wh..opq", ""), file("b/new", "n")]));
    expect(existsSync(`${root}/a/1`)).toBe(false);
    expect(existsSync(`${root}/a/2`)).toBe(true);
    expect(existsSync(`${root}/c`)).toBe(false);
    expect(existsSync(`${root}/b/old`)).toBe(false);
    expect(readFileSync(`${root}/b/new`, "utf8")).toBe("n");
    expect(existsSync(`${root}/b/.wh..wh..opq`)).toBe(false);
  });

  test("a layer writing through a symlink to / stays inside the root", async () => {
    const root = tempDir("imgb-rootfs-");
    const outside = tempDir("imgb-rootfs-outside-");
    await extractLayer(root, await layer([link("escape", outside), link("up", "../../../../../../../..")]));
    await extractLayer(root, await layer([file("escape/pwned", "x"), file("up/tmp/pwned2", "y"), { path: "hl", type: "hardlink", mode: 0o644, size: 0, linkTarget: "escape/pwned" }]));
    expect(existsSync(`${outside}/pwned`)).toBe(false);
    expect(readFileSync(`${root}/${outside.slice(1)}/pwned`, "utf8")).toBe("x");
    expect(readFileSync(`${root}/tmp/pwned2`, "utf8")).toBe("y");
    expect(readFileSync(`${root}/hl`, "utf8")).toBe("x");
  });
});
