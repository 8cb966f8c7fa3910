import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { writeLayer, type LayerEntry } from "./layer.ts";
import { readTar } from "./tar_reader.ts";

afterAll(cleanupTempDirs);

function entries(root: string): LayerEntry[] {
  return [
    { path: "app", type: "dir", mode: 0o755, size: 0, uid: 1000, gid: 1000 },
    { path: "app/big.bin", type: "file", mode: 0o644, size: 3 << 20, source: join(root, "big.bin"), uid: 1000, gid: 1000 },
    { path: "app/hi.txt", type: "file", mode: 0o600, size: 3, data: new TextEncoder().encode("hi\n") },
    { path: "app/link", type: "symlink", mode: 0o777, size: 0, linkTarget: "hi.txt", uid: 7, gid: 8 },
    { path: `app/${"n".repeat(120)}`, type: "file", mode: 0o644, size: 0, source: join(root, "empty"), uid: 9, gid: 9 },
  ];
}

describe("writeLayer", () => {
  const root = tempDir("imgb-layer-");
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 7919) % 251);
  writeTree(root, { "big.bin": big, empty: "" });

  test("same entries, same digests; gzip header has no time or name", async () => {
    const a = await writeLayer(entries(root), join(root, "a.tgz"), { mtime: 0, level: 6 });
    const b = await writeLayer(entries(root), join(root, "b.tgz"), { mtime: 0, level: 6 });
    expect(a.digest).toBe(b.digest);
    expect(a.diffId).toBe(b.diffId);
    const bytes = readFileSync(a.path);
    expect(a.size).toBe(bytes.length);
    expect(a.digest).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`);
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    const c = await writeLayer(entries(root), join(root, "c.tgz"), { mtime: 1700000000, level: 6 });
    expect(c.diffId).not.toBe(a.diffId);
  });

  test("owners are patched into the headers (checked with GNU tar and our reader)", async () => {
    const layer = await writeLayer(entries(root), join(root, "o.tgz"), { mtime: 0, level: 1 });
    const listing = Bun.spawnSync(["tar", "--numeric-owner", "-tvzf", layer.path]).stdout.toString();
    expect(listing).toContain("drwxr-xr-x 1000/1000");
    expect(listing).toContain("-rw------- 0/0");
    expect(listing).toMatch(/lrwxrwxrwx 7\/8 .* app\/link -> hi.txt/);
    expect(listing).toContain(`9/9 `);
    const seen: string[] = [];
    await readTar(Bun.file(layer.path).stream().pipeThrough(new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>), (h) => {
      seen.push(`${h.path} ${h.uid}:${h.gid} ${h.size}`);
      return undefined;
    }, "test");
    expect(seen).toEqual(["app/ 1000:1000 0", `app/big.bin 1000:1000 ${3 << 20}`, "app/hi.txt 0:0 3", "app/link 7:8 0", `app/${"n".repeat(120)} 9:9 0`]);
  });
});
