import { afterAll, expect, test } from "bun:test";
import { fstatSync, lstatSync, mkdirSync, openSync, rmSync, Stats, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../test/context/_tree.ts";
import { copyStat, libcReader, nodeReader, type EntryStat, type FileReader } from "./_file_io.ts";
import { TarWriter, type TarEntry } from "./tar.ts";

const work = tempDir("file-io");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const libc = libcReader();

test("the libc reader loads on Linux (glibc here and in CI)", () => {
  if (process.platform === "linux") expect(libc).toBeDefined();
});

const readers: [string, FileReader][] = [["node:fs", nodeReader], ...(libc ? [["libc", libc] as [string, FileReader]] : [])];

for (const [name, reader] of readers) {
  test(`${name}: reads a file and reports what fstat reports (size, inode, times to the nanosecond)`, () => {
    const path = join(work, `${name}-é 文件.txt`);
    writeFileSync(path, "hello, context\n");
    utimesSync(path, 1_700_000_000.123456, 1_600_000_000.987654);
    const fd = reader.open(path);
    try {
      const buf = new Uint8Array(64);
      expect(reader.read(fd, buf, 3, 10)).toBe(10);
      expect(reader.read(fd, buf, 13, 40)).toBe(5);
      expect(reader.read(fd, buf, 18, 40)).toBe(0);
      expect(Buffer.from(buf.subarray(3, 18)).toString()).toBe("hello, context\n");
      const want = fstatSync(fd);
      const got = reader.identity(fd);
      // libc's answer is its own object (statx worked), not node:fs's Stats from a fallback.
      if (name === "libc") expect(got).not.toBeInstanceOf(Stats);
      expect({ size: got.size, ino: got.ino, mtimeMs: got.mtimeMs, ctimeMs: got.ctimeMs }).toEqual({ size: want.size, ino: want.ino, mtimeMs: want.mtimeMs, ctimeMs: want.ctimeMs });
    } finally {
      reader.close(fd);
    }
  });

  test(`${name}: failures throw node:fs's errors (missing, too long, a directory read)`, () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as NodeJS.ErrnoException).code;
      }
      return "no error";
    };
    expect(code(() => reader.open(join(work, "missing")))).toBe("ENOENT");
    expect(code(() => reader.open(join(work, "x".repeat(5000))))).toBe(code(() => openSync(join(work, "x".repeat(5000)), "r")));
    const dir = join(work, `${name}-dir`);
    mkdirSync(dir);
    const fd = reader.open(dir);
    try {
      expect(code(() => reader.read(fd, new Uint8Array(16), 0, 16))).toBe("EISDIR");
    } finally {
      reader.close(fd);
    }
  });
}

const KINDS = ["isFile", "isDirectory", "isSymbolicLink", "isSocket", "isFIFO", "isCharacterDevice", "isBlockDevice"] as const;
const fields = (st: EntryStat) => ({
  mode: st.mode, size: st.size, dev: st.dev, ino: st.ino, nlink: st.nlink, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs,
  kinds: KINDS.filter((k) => st[k]()),
});

for (const [name, reader] of readers) {
  test(`${name}: lstat reports what lstatSync reports, for a file, a directory, a symlink, a FIFO and a device`, () => {
    const dir = join(work, `${name}-lstat`);
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "f.txt"), "12345");
    utimesSync(join(dir, "f.txt"), 1_700_000_000.5, 1_600_000_000.000001);
    symlinkSync("f.txt", join(dir, "link"));
    const paths = [join(dir, "f.txt"), join(dir, "sub"), join(dir, "link"), "/dev/null"];
    if (Bun.spawnSync(["mkfifo", join(dir, "fifo")]).exitCode === 0) paths.push(join(dir, "fifo"));
    for (const path of paths) expect(fields(reader.lstat(path))).toEqual(fields(lstatSync(path)));
    const code = (() => {
      try {
        reader.lstat(join(dir, "missing"));
      } catch (e) {
        return (e as NodeJS.ErrnoException).code;
      }
    })();
    expect(code).toBe("ENOENT");
  });

  test(`${name}: stamp is lstatSync's bigint answer (ns times as decimal strings), also at whole seconds and before 1970`, () => {
    const dir = join(work, `${name}-stamp`);
    mkdirSync(dir);
    const at = (file: string, atime: number, mtime: number) => {
      const path = join(dir, file);
      writeFileSync(path, file);
      utimesSync(path, atime, mtime);
      return path;
    };
    const paths = [at("ns", 1_700_000_000.5, 1_600_000_000.000001), at("whole", 5, 1_000_000), at("epoch", 0, 0), at("early", 0, 0.25), at("before-1970", 0, -86_400.5), dir, "/dev/null"];
    symlinkSync("ns", join(dir, "link"));
    paths.push(join(dir, "link"));
    for (const path of paths) {
      const st = lstatSync(path, { bigint: true });
      expect(reader.stamp(path)).toEqual({ dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) });
    }
    expect(() => reader.stamp(join(dir, "missing"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  test(`${name}: copyStat keeps an lstat's answer past the next call`, () => {
    const kept = copyStat(reader.lstat("/dev/null"));
    reader.lstat(work);
    expect(fields(kept)).toEqual(fields(lstatSync("/dev/null")));
  });
}

test("the archive is the same through either reader", () => {
  const entries: TarEntry[] = [];
  for (let i = 0; i < 50; i++) {
    const path = join(work, `same-${i}.bin`);
    const data = new Uint8Array(i * 997).map((_, j) => (i * 31 + j) & 255);
    writeFileSync(path, data);
    const st = statSync(path);
    entries.push({ path: `f${i}`, type: "file", mode: 0o644, size: data.length, source: path, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
  }
  const all = (reader: FileReader) => {
    const w = new TarWriter(entries, { mtime: 1, reader });
    const out: Uint8Array[] = [];
    for (let c = w.next(); c; c = w.next()) out.push(c);
    return Buffer.concat(out);
  };
  expect(all(nodeReader).equals(all(libc ?? nodeReader))).toBe(true);
});

