import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";
import { writeTarToFd, writeTarToPipe } from "./_sink.ts";
import { PIPE_CAPACITY, pipeCapacity, widenPipe } from "./_pipe_size.ts";
import { TarWriter, type TarEntry } from "./tar.ts";

const work = tempDir("imgb-sink-");
afterAll(cleanupTempDirs);

const all = (w: TarWriter) => {
  const parts: Uint8Array[] = [];
  for (let c = w.next(); c; c = w.next()) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
};

function sources(count: number): TarEntry[] {
  const entries: TarEntry[] = [];
  for (let i = 0; i < count; i++) {
    const source = join(work, `src${i}`);
    const data = new Uint8Array(5000 + i * 7919).map((_, j) => (i + j) % 253);
    writeFileSync(source, data);
    entries.push({ path: `f${i}`, type: "file", mode: 0o644, size: data.length, source });
  }
  return entries;
}

describe("writeTarToFd", () => {
  test("writes the chunks in order, byte for byte", async () => {
    const entries = sources(60);
    const want = all(new TarWriter(entries, { mtime: 1, chunkSize: 1 << 16 }));
    const out = join(work, "ok.tar");
    const fd = openSync(out, "w");
    try {
      await writeTarToFd(fd, out, new TarWriter(entries, { mtime: 1, chunkSize: 1 << 16, reuseBuffer: true, buffers: 2 }));
    } finally {
      closeSync(fd);
    }
    expect(want.length).toBeGreaterThan(20 << 16);
    expect(new Uint8Array(readFileSync(out))).toEqual(want);
  });

  test("a file that vanishes mid-stream fails it: nothing after, never the end-of-archive blocks", async () => {
    const entries = sources(40);
    const full = all(new TarWriter(entries, { mtime: 1, chunkSize: 1 << 16 }));
    rmSync(entries[30]!.source!);
    const out = join(work, "bad.tar");
    const fd = openSync(out, "w");
    let err: unknown;
    try {
      await writeTarToFd(fd, out, new TarWriter(entries, { mtime: 1, chunkSize: 1 << 16, reuseBuffer: true, buffers: 2 })).catch((e: unknown) => (err = e));
    } finally {
      closeSync(fd);
    }
    expect((err as { code?: string }).code).toBe("context.changed");
    const written = new Uint8Array(readFileSync(out));
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(full.length);
    expect(written).toEqual(full.subarray(0, written.length)); // a prefix, in order
  });

  test("a write error (a read-only descriptor) is the stream's error, with the label", async () => {
    const entries = sources(3);
    const out = join(work, "ro.tar");
    writeFileSync(out, "");
    const fd = openSync(out, "r");
    try {
      const err = await writeTarToFd(fd, out, new TarWriter(entries, { mtime: 1, reuseBuffer: true, buffers: 2 })).then(() => undefined, (e: unknown) => e);
      expect((err as { code?: string }).code).toBe("context.io");
      expect(String((err as Error).message)).toContain("ro.tar");
    } finally {
      closeSync(fd);
    }
  });
});

/** A named pipe in the test's temp dir, and a `cat` copying it to `out`. */
function fifo(name: string, out: string) {
  const path = join(work, name);
  expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
  const reader = Bun.spawn(["sh", "-c", 'exec cat "$0" > "$1"', path, out]);
  return { path, reader };
}

describe("pipes (Linux: F_GETPIPE_SZ/F_SETPIPE_SZ)", () => {
  test("widenPipe grows a pipe to 1 MiB, never shrinks it, and tells a file from a pipe", () => {
    const path = join(work, "widen.fifo");
    expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
    const fd = openSync(path, "r+"); // Linux: a FIFO opened for both ends does not block
    const file = openSync(join(work, "plain"), "w");
    try {
      expect(pipeCapacity(fd)).toBe(64 << 10);
      expect(widenPipe(fd)).toBe(PIPE_CAPACITY);
      expect(pipeCapacity(fd)).toBe(PIPE_CAPACITY);
      expect(widenPipe(fd, 128 << 10)).toBe(PIPE_CAPACITY);
      expect(pipeCapacity(fd)).toBe(PIPE_CAPACITY);
      expect(pipeCapacity(file)).toBeUndefined();
      expect(widenPipe(file)).toBeUndefined();
    } finally {
      closeSync(fd);
      closeSync(file);
    }
  });

  test("writeTarToPipe: the same bytes as the file path, through a pipe it widened", async () => {
    const entries = sources(80);
    const want = all(new TarWriter(entries, { mtime: 1, chunkSize: 1 << 16 }));
    const out = join(work, "piped.tar");
    const { path, reader } = fifo("tar.fifo", out);
    const fd = openSync(path, "r+"); // both ends: never blocks on open, and cat sees EOF once it is closed
    let capacity: number | undefined;
    try {
      await writeTarToPipe(fd, path, new TarWriter(entries, { mtime: 1, chunkSize: 1 << 16, reuseBuffer: true, buffers: 4 }));
      capacity = pipeCapacity(fd);
    } finally {
      closeSync(fd);
    }
    expect(await reader.exited).toBe(0);
    expect(capacity).toBe(PIPE_CAPACITY);
    expect(want.length).toBeGreaterThan(2 * PIPE_CAPACITY);
    expect(new Uint8Array(readFileSync(out))).toEqual(want);
  });
});
