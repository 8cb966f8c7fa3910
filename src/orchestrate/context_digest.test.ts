import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../context/build_context.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { Store } from "../store/store.ts";
import { contextDigest, memoryHashCache, PENDING_HASHES, storeHashCache, type DigestStats } from "./context_digest.ts";

afterAll(cleanupTempDirs);

function tree() {
  const dir = tempDir();
  writeTree(dir, { Dockerfile: "FROM scratch\n", "a/b.txt": "bee\n", "big.bin": new Uint8Array(1 << 20).fill(7) });
  return dir;
}
const digest = async (dir: string, cache = memoryHashCache(), stats?: DigestStats) => contextDigest(await new BuildContext({ root: dir }).files(), { cache, stats });

describe("contextDigest", () => {
  test("unchanged tree: same digest, and nothing is read the second time", async () => {
    const dir = tree();
    const cache = memoryHashCache();
    const first: DigestStats = { files: 0, hashed: 0, bytesHashed: 0 };
    const d1 = await digest(dir, cache, first);
    expect(first).toMatchObject({ files: 3, hashed: 3 });
    const second: DigestStats = { files: 0, hashed: 0, bytesHashed: 0 };
    expect(await digest(dir, cache, second)).toBe(d1);
    expect(second).toEqual({ files: 3, hashed: 0, bytesHashed: 0 });
  });

  test("a same-size rewrite with the mtime put back is not taken from the cache (ctime moved)", async () => {
    const dir = tree();
    const file = join(dir, "a/b.txt");
    utimesSync(file, 1_000_000, 1_000_000); // whole seconds: exactly restorable
    const cache = memoryHashCache();
    const before = await digest(dir, cache);
    await Bun.sleep(10); // a ctime of its own
    writeFileSync(file, "BEA\n"); // same size
    utimesSync(file, 1_000_000, 1_000_000); // mtime as it was: only ctime tells
    const stats: DigestStats = { files: 0, hashed: 0, bytesHashed: 0 };
    expect(await digest(dir, cache, stats)).not.toBe(before);
    expect(stats.hashed).toBe(1);
  });

  test("changes of content, mode, path or link change the digest", async () => {
    const dir = tree();
    const base = await digest(dir);
    writeFileSync(join(dir, "a/b.txt"), "BEE\n");
    const content = await digest(dir);
    expect(content).not.toBe(base);
    chmodSync(join(dir, "a/b.txt"), 0o755);
    const mode = await digest(dir);
    expect(mode).not.toBe(content);
    symlinkSync("a/b.txt", join(dir, "link"));
    const link = await digest(dir);
    expect(link).not.toBe(mode);
  });

  test("same size and mtime but other content is still seen (inode/ctime-free key: rewrite keeps size)", async () => {
    const dir = tree();
    const cache = memoryHashCache();
    const d1 = await digest(dir, cache);
    const p = join(dir, "a/b.txt");
    writeFileSync(p, "BEE\n");
    utimesSync(p, new Date(0), new Date(0)); // a different mtime than cached: rehashed
    expect(await digest(dir, cache)).not.toBe(d1);
  });

  test("inline content is part of the digest", async () => {
    const dir = tree();
    const a = await contextDigest(await new BuildContext({ root: dir }).addContent("1", "VERSION").files());
    const b = await contextDigest(await new BuildContext({ root: dir }).addContent("2", "VERSION").files());
    expect(a).not.toBe(b);
  });

  test("mtimes alone do not change it (same content in another checkout)", async () => {
    const a = tree();
    const b = tree();
    utimesSync(join(b, "a/b.txt"), new Date(1e12), new Date(1e12));
    expect(await digest(a)).toBe(await digest(b));
  });

  test("an aborted signal stops it before the first file is read", async () => {
    const stats: DigestStats = { files: 0, hashed: 0, bytesHashed: 0 };
    const reason = new DOMException("cancelled", "AbortError");
    const entries = await new BuildContext({ root: tree() }).files();
    const err = await contextDigest(entries, { stats, signal: AbortSignal.abort(reason) }).catch((e) => e);
    expect(err).toBe(reason);
    expect(stats.hashed).toBe(0);
  });

  test("an abort while a big file is read stops within a chunk, with the signal's reason (not a read error)", async () => {
    const dir = tempDir();
    writeTree(dir, { Dockerfile: "FROM scratch\n", "huge.bin": new Uint8Array(64 << 20) });
    const entries = await new BuildContext({ root: dir }).files();
    const abort = new AbortController();
    const reason = new DOMException("cancelled", "AbortError");
    const stats: DigestStats = { files: 0, hashed: 0, bytesHashed: 0 };
    // Abort as soon as the read has begun: the first timer tick after the digest started.
    const pending = contextDigest(entries, { stats, signal: abort.signal });
    setTimeout(() => abort.abort(reason), 0);
    expect(await pending.catch((e) => e)).toBe(reason);
    expect(stats.bytesHashed).toBe("FROM scratch\n".length); // the Dockerfile only: huge.bin was never finished
  });
});

describe("storeHashCache", () => {
  const record = (i: number) => ({ path: `/ctx/f${i}`, dev: 1, ino: i, size: i, mtimeNs: `${i}`, ctimeNs: `${i}`, sha256: i.toString(16).padStart(64, "0") });

  test("hashes persist across runs: the second digest reads nothing, through a new store connection", async () => {
    const dir = tree();
    const env = { IMGB_HOME: join(tempDir(), "home") };
    const run = async () => {
      const store = Store.open(env, { deferCreate: true });
      const cache = storeHashCache(store);
      const stats: DigestStats = { files: 0, hashed: 0, bytesHashed: 0 };
      const d = await contextDigest(await new BuildContext({ root: dir }).fileList(), { cache, stats });
      store.batch(() => cache.flush());
      store.close();
      return { d, stats };
    };
    const first = await run();
    expect(first.stats.hashed).toBe(3);
    const second = await run();
    expect(second).toEqual({ d: first.d, stats: { files: 3, hashed: 0, bytesHashed: 0 } });
    expect(first.d).toBe(await digest(dir)); // fileList() and files() digest alike
  });

  test("two digests at once on one cache (a stack's images) each find every hash the store has", async () => {
    const dirs = [tree(), tree()];
    const env = { IMGB_HOME: join(tempDir(), "home") };
    const run = async () => {
      const store = Store.open(env, { deferCreate: true });
      const cache = storeHashCache(store);
      const stats = dirs.map((): DigestStats => ({ files: 0, hashed: 0, bytesHashed: 0 }));
      await Promise.all(dirs.map(async (d, i) => contextDigest(await new BuildContext({ root: d }).fileList(), { cache, stats: stats[i] })));
      store.batch(() => cache.flush());
      store.close();
      return stats.map((s) => s.hashed);
    };
    expect(await run()).toEqual([3, 3]);
    expect(await run()).toEqual([0, 0]);
  });

  test("new records are written every PENDING_HASHES, not kept to the end; lookups see written and pending ones", () => {
    const env = { IMGB_HOME: join(tempDir(), "home") };
    const store = Store.open(env);
    const cache = storeHashCache(store);
    for (let i = 0; i <= PENDING_HASHES; i++) cache.record(record(i));
    const other = Store.open(env, { readonly: true });
    expect(other.fileHash("/ctx/f0")).toEqual(record(0));
    expect(other.fileHash(`/ctx/f${PENDING_HASHES - 1}`)).toEqual(record(PENDING_HASHES - 1));
    expect(other.fileHash(`/ctx/f${PENDING_HASHES}`)).toBeUndefined(); // still pending...
    expect(cache.lookup(`/ctx/f${PENDING_HASHES}`)).toEqual(record(PENDING_HASHES)); // ...and found
    expect(cache.lookup("/ctx/f1")).toEqual(record(1));
    expect([...cache.lookupMany!(["/ctx/f1", `/ctx/f${PENDING_HASHES}`, "/ctx/none"])]).toEqual([
      ["/ctx/f1", record(1)],
      [`/ctx/f${PENDING_HASHES}`, record(PENDING_HASHES)],
    ]);
    cache.flush();
    expect(other.fileHash(`/ctx/f${PENDING_HASHES}`)).toEqual(record(PENDING_HASHES));
    other.close();
    store.close();
  });

  test("a write that fails does not fail the build as it runs: the final flush reports it", () => {
    const env = { IMGB_HOME: join(tempDir(), "home") };
    Store.open(env).close();
    const store = Store.open(env, { readonly: true });
    const cache = storeHashCache(store);
    for (let i = 0; i < 2 * PENDING_HASHES; i++) cache.record(record(i)); // no throw: a build goes on
    expect(cache.lookup("/ctx/f3")).toEqual(record(3));
    expect(() => cache.flush()).toThrow(/file hash cache/);
    store.close();
  });
});
