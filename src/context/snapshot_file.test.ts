import { afterAll, describe, expect, test } from "bun:test";
import { linkSync, renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "../errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { BuildContext } from "./build_context.ts";
import { readSnapshotFile } from "./snapshot_file.ts";

afterAll(cleanupTempDirs);

async function snapshot() {
  const root = tempDir("imgb-snapshot-file-");
  writeTree(root, { Dockerfile: "FROM scratch\n", "b.txt": "0123456789" });
  utimesSync(join(root, "b.txt"), 1_700_000_000, 1_700_000_000);
  const entry = (await new BuildContext({ root }).files()).find((e) => e.path === "b.txt")!;
  return { root, path: join(root, "b.txt"), entry };
}

function changed(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RuntimeError);
    expect((e as RuntimeError).code).toBe("context.changed");
    return (e as Error).message;
  }
  throw new Error("expected context.changed");
}

describe("readSnapshotFile", () => {
  test("an untouched file: its bytes, or the first `limit` of them", async () => {
    const { path, entry } = await snapshot();
    expect(entry.identity?.size).toBe(10);
    expect(new TextDecoder().decode(readSnapshotFile(path, entry.identity!))).toBe("0123456789");
    expect(new TextDecoder().decode(readSnapshotFile(path, entry.identity!, 3))).toBe("012");
  });

  test("same size and mtime, other bytes: rewritten", async () => {
    const { path, entry } = await snapshot();
    await Bun.sleep(20);
    writeFileSync(path, "9876543210");
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    expect(changed(() => readSnapshotFile(path, entry.identity!, 3))).toBe(`File "${path}" changed while the build context was being read: it was rewritten or replaced after it was checksummed`);
  });

  test("grown, replaced by another file, by a symlink, or gone", async () => {
    const { root, path, entry } = await snapshot();
    writeFileSync(path, "0123456789+");
    expect(changed(() => readSnapshotFile(path, entry.identity!))).toContain("it grew from 10 bytes");
    writeFileSync(join(root, "new"), "0123456789");
    utimesSync(join(root, "new"), 1_700_000_000, 1_700_000_000);
    renameSync(join(root, "new"), path);
    expect(changed(() => readSnapshotFile(path, entry.identity!))).toContain("rewritten or replaced");
    unlinkSync(path);
    expect(changed(() => readSnapshotFile(path, entry.identity!))).toContain("it vanished");
    symlinkSync("Dockerfile", path);
    expect(changed(() => readSnapshotFile(path, entry.identity!))).toContain("replaced by a symlink");
  });

  test("inline content has no identity; a hard link's is its file's size", async () => {
    const root = tempDir("imgb-snapshot-file-");
    writeTree(root, { Dockerfile: "FROM scratch\n", "b.txt": "0123456789" });
    linkSync(join(root, "b.txt"), join(root, "c.txt"));
    const files = await new BuildContext({ root }).addContent("x", "inline.txt").files();
    const c = files.find((e) => e.path === "c.txt")!;
    expect(c.type).toBe("hardlink");
    expect(c.size).toBe(0);
    expect(c.identity?.size).toBe(10);
    expect(files.find((e) => e.path === "inline.txt")!.identity).toBeUndefined();
  });
});
