import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";
import { FETCH_PATHS, Store } from "./store.ts";

afterAll(cleanupTempDirs);

const record = { checksum: "sha256:aa", image: "app", ref: "r/app@sha256:bb", digest: "sha256:bb", builtAt: "2026-01-01T00:00:00.000Z" };

test("deferCreate: no store file until the first write; reads find nothing; the write creates it with its tables", () => {
  const home = join(tempDir("store-"), "home");
  const store = Store.open({ IMGB_HOME: home }, { deferCreate: true });
  expect(existsSync(home)).toBe(true); // the directory is made (and checked) at once
  expect(existsSync(join(home, "imgb.db"))).toBe(false);
  expect(store.getBuild(record.checksum)).toBeUndefined();
  expect(store.fileHash("/ctx/a")).toBeUndefined();
  expect(store.listFlavors()).toEqual([]);
  store.batch(() => store.putBuilds([record]));
  store.close();
  const again = Store.open({ IMGB_HOME: home }, { deferCreate: true });
  expect(again.getBuild(record.checksum)).toEqual(record);
  expect(again.listFlavors()).toEqual([]);
  const hash = { path: "/ctx/a", dev: 2049, ino: 12, size: 3, mtimeNs: "1700000000000000005", ctimeNs: "1700000000000000006", sha256: "ab".repeat(32) };
  again.batch(() => again.putFileHashes([hash]));
  expect(again.fileHash("/ctx/a")).toEqual(hash);
  expect(again.fileHash("/ctx")).toBeUndefined();
  expect([...again.fileHashes(["/ctx", "/ctx/a", ""])]).toEqual([["/ctx/a", hash]]);
  expect(() => again.fileHashes(Array.from({ length: FETCH_PATHS + 1 }, (_, i) => `/p${i}`))).toThrow(RangeError);
  again.close();
});

test("deferCreate: a batch that fails leaves no tables behind, and the next write still creates them", () => {
  const home = tempDir("store-");
  const store = Store.open({ IMGB_HOME: home }, { deferCreate: true });
  expect(() =>
    store.batch(() => {
      store.putBuilds([record]);
      throw new Error("stop");
    }),
  ).toThrow(/stop/);
  store.putBuild(record);
  expect(store.getBuild(record.checksum)).toEqual(record);
  store.close();
});

test("deferCreate on an existing store opens it as before", () => {
  const home = tempDir("store-");
  const first = Store.open({ IMGB_HOME: home });
  first.putBuild(record);
  first.close();
  const store = Store.open({ IMGB_HOME: home }, { deferCreate: true });
  expect(store.getBuild(record.checksum)).toEqual(record);
  store.close();
});
