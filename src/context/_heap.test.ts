import { afterEach, expect, spyOn, test } from "bun:test";
import { CHUNK_BYTES_PER_COLLECTION } from "./_heap.ts";
import { TarWriter, type TarEntry } from "./tar.ts";

let restore: (() => void) | undefined;
afterEach(() => restore?.());

function gcCalls() {
  const s = spyOn(Bun, "gc");
  restore = () => s.mockRestore();
  return s;
}

// One entry and no file: no per-file collection, only the chunks count.
const big = (): TarEntry[] => [{ path: "blob", type: "file", mode: 0o644, size: 3 * CHUNK_BYTES_PER_COLLECTION, data: new Uint8Array(3 * CHUNK_BYTES_PER_COLLECTION) }];

test("fresh chunks handed to a consumer: a full collection every CHUNK_BYTES_PER_COLLECTION of them", () => {
  const s = gcCalls();
  const w = new TarWriter(big(), { mtime: 0 });
  let bytes = 0;
  for (let c = w.next(); c; c = w.next()) bytes += c.length;
  expect(bytes).toBeGreaterThan(3 * CHUNK_BYTES_PER_COLLECTION);
  expect(s.mock.calls).toEqual([[true], [true], [true]]);
});

test("reused buffers are not garbage: no collection for them", () => {
  const s = gcCalls();
  const w = new TarWriter(big(), { mtime: 0, reuseBuffer: true, buffers: 4 });
  while (w.next());
  expect(s).not.toHaveBeenCalled();
});
