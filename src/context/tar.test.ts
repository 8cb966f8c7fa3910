import { describe, expect, test } from "bun:test";
import { readTar } from "../../test/context/_tar_reader.ts";
import { encodePax, needsPax, paxRecords, splitUstarName, writeHeader } from "./_tar_header.ts";
import { TarWriter, type TarEntry } from "./tar.ts";

const all = (w: TarWriter) => {
  const parts: Uint8Array[] = [];
  for (let c = w.next(); c; c = w.next()) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
};
const text = (s: string) => new TextEncoder().encode(s);

describe("ustar header", () => {
  test("field layout and checksum match GNU tar's reading", () => {
    const block = new Uint8Array(512);
    writeHeader(block, { name: "dir/file.txt", mode: 0o755, size: 1234, mtime: 946684800, type: "0" });
    const s = (a: number, b: number) => Buffer.from(block.subarray(a, b)).toString("latin1");
    expect(s(0, 12)).toBe("dir/file.txt");
    expect(s(100, 108)).toBe("0000755\0");
    expect(s(108, 124)).toBe("0000000\x000000000\0");
    expect(s(124, 136)).toBe("00000002322\0");
    expect(s(136, 148)).toBe("07033241600\0"); // 946684800 (2000-01-01) in octal
    expect(s(257, 265)).toBe("ustar\x0000");
    expect(s(265, 329)).toBe("\0".repeat(64)); // no uname/gname
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
    expect(s(148, 156)).toBe(`${sum.toString(8).padStart(6, "0")}\0 `);
  });

  test("names split at a '/' into prefix <= 155 and name <= 100, else need PAX", () => {
    expect(splitUstarName("a".repeat(100))).toEqual({ prefix: "", name: "a".repeat(100) });
    expect(splitUstarName(`${"p".repeat(155)}/${"n".repeat(100)}`)).toEqual({ prefix: "p".repeat(155), name: "n".repeat(100) });
    expect(splitUstarName(`${"p".repeat(156)}/n`)).toBeUndefined();
    expect(splitUstarName(`p/${"n".repeat(101)}`)).toBeUndefined();
    expect(splitUstarName(`${"d".repeat(120)}/`)).toBeUndefined(); // a directory's trailing slash is not a split point
    expect(splitUstarName("é")).toBeUndefined();
  });

  test("PAX records: only what ustar cannot hold; lengths count themselves", () => {
    expect(paxRecords({ name: "ok", mode: 0o644, size: 8 * 1024 ** 3 - 1, mtime: 0, type: "0" })).toEqual({});
    expect(paxRecords({ name: "ok", mode: 0o644, size: 8 * 1024 ** 3, mtime: 0, type: "0" })).toEqual({ size: "8589934592" });
    expect(paxRecords({ name: "ok", mode: 0o777, size: 0, mtime: 0, type: "2", linkname: "l".repeat(101) })).toEqual({ linkpath: "l".repeat(101) });
    expect(new TextDecoder().decode(encodePax({ path: "" }))).toBe("8 path=\n");
    expect(new TextDecoder().decode(encodePax({ path: "x" }))).toBe("9 path=x\n");
    expect(new TextDecoder().decode(encodePax({ path: "xx" }))).toBe("11 path=xx\n");
    expect(new TextDecoder().decode(encodePax({ path: "é" }))).toBe("11 path=é\n"); // counts bytes: é is 2
    expect(encodePax({ path: "x".repeat(93) }).length).toBe(103); // 100-byte body: 3 digits
  });
});

describe("TarWriter", () => {
  test("content crossing chunk boundaries, padding, inline data larger than a chunk, end blocks", () => {
    const chunk = 1 << 16;
    const big = new Uint8Array(3 * chunk + 100).map((_, i) => i % 253);
    const entries: TarEntry[] = [
      { path: "a", type: "dir", mode: 0o755, size: 0 },
      { path: "a/big", type: "file", mode: 0o644, size: big.length, data: big },
      { path: "a/empty", type: "file", mode: 0o600, size: 0, data: new Uint8Array() },
      { path: "a/odd", type: "file", mode: 0o644, size: 513, data: new Uint8Array(513).fill(9) },
      { path: "a/link", type: "symlink", mode: 0o777, size: 0, linkTarget: "odd" },
      { path: "a/hard", type: "hardlink", mode: 0o644, size: 0, linkTarget: "a/odd" },
    ];
    for (const reuseBuffer of [false, true]) {
      const w = new TarWriter(entries, { mtime: 42, chunkSize: chunk, reuseBuffer });
      const sizes: number[] = [];
      const parts: Uint8Array[] = [];
      for (let c = w.next(); c; c = w.next()) {
        sizes.push(c.length);
        parts.push(c.slice());
      }
      const bytes = new Uint8Array(Buffer.concat(parts));
      expect(sizes.slice(0, -1).every((s) => s === chunk)).toBe(true);
      expect(bytes.length % 512).toBe(0);
      const items = readTar(bytes, true);
      expect(items.map((i) => [i.name, i.type, i.mode.toString(8), i.size, i.linkname, i.mtime])).toEqual([
        ["a/", "5", "755", 0, "", 42],
        ["a/big", "0", "644", big.length, "", 42],
        ["a/empty", "0", "600", 0, "", 42],
        ["a/odd", "0", "644", 513, "", 42],
        ["a/link", "2", "777", 0, "odd", 42],
        ["a/hard", "1", "644", 0, "a/odd", 42],
      ]);
      expect(items[1]!.data).toEqual(big);
      expect(items[3]!.data).toEqual(new Uint8Array(513).fill(9));
      // padding after a/odd and the end-of-archive blocks are zero
      expect(bytes.subarray(bytes.length - 1024).every((b) => b === 0)).toBe(true);
    }
  });

  test("a header with a long PAX record is never split across chunks", () => {
    const long = `${"x".repeat(200)}/${"y".repeat(3000)}`;
    const filler = new Uint8Array((1 << 16) - 2048).fill(1);
    const entries: TarEntry[] = [
      { path: "f", type: "file", mode: 0o644, size: filler.length, data: filler },
      { path: long, type: "file", mode: 0o644, size: 1, data: text("z") },
    ];
    const items = readTar(all(new TarWriter(entries, { mtime: 0, chunkSize: 1 << 16 })), true);
    expect(items.map((i) => i.name)).toEqual(["f", long]);
    expect(new TextDecoder().decode(items[1]!.data)).toBe("z");
  });

  test("with buffers: 2, a chunk stays intact while the next is filled; the bytes equal a fresh-buffer writer's", () => {
    const chunk = 1 << 16;
    const entries: TarEntry[] = [];
    for (let i = 0; i < 40; i++) {
      const data = new Uint8Array(1000 + i * 3001).map((_, j) => (i * 31 + j) % 251);
      entries.push({ path: `d/f${i}`, type: "file", mode: 0o644, size: data.length, data });
    }
    const want = all(new TarWriter(entries, { mtime: 7, chunkSize: chunk }));
    const w = new TarWriter(entries, { mtime: 7, chunkSize: chunk, reuseBuffer: true, buffers: 2 });
    const parts: Uint8Array[] = [];
    let prev: Uint8Array | undefined;
    let prevCopy: Uint8Array | undefined;
    for (let c = w.next(); c; c = w.next()) {
      // The chunk before this one is what an asynchronous write would still be reading.
      if (prev) expect(prev).toEqual(prevCopy!);
      prev = c;
      prevCopy = c.slice();
      parts.push(prevCopy);
    }
    expect(parts.length).toBeGreaterThan(4);
    expect(new Uint8Array(Buffer.concat(parts))).toEqual(want);
    expect(() => new TarWriter([], { mtime: 0, reuseBuffer: true, buffers: 0 })).toThrow(RangeError);
  });

  test("needsPax agrees with paxRecords", () => {
    const cases = [
      { name: "ok", size: 1 },
      { name: "a".repeat(100), size: 1 },
      { name: `${"p".repeat(155)}/${"n".repeat(100)}`, size: 1 },
      { name: `${"p".repeat(156)}/n`, size: 1 },
      { name: "é", size: 1 },
      { name: "ok", size: 8 * 1024 ** 3 },
      { name: "l", size: 0, linkname: "t".repeat(101) },
      { name: "l", size: 0, linkname: "ü" },
      { name: "l", size: 0, linkname: "t" },
    ];
    for (const c of cases) {
      const f = { mode: 0o644, mtime: 0, type: "0" as const, ...c };
      expect([c.name.slice(0, 9), needsPax(f)]).toEqual([c.name.slice(0, 9), Object.keys(paxRecords(f)).length > 0]);
    }
  });

  test("an empty entry list is just the two end blocks", () => {
    expect(all(new TarWriter([], { mtime: 0 }))).toEqual(new Uint8Array(1024));
  });

  test("chunk sizes that are not whole blocks are refused", () => {
    expect(() => new TarWriter([], { mtime: 0, chunkSize: 70_000 })).toThrow(RangeError);
  });
});
