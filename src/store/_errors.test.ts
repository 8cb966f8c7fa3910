import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "../errors.ts";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";
import { storeError } from "./_errors.ts";

afterAll(cleanupTempDirs);

/** The error SQLite itself throws for `fn`, so the mapping is tested against real codes. */
function sqliteError(fn: () => void): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected SQLite to fail");
}

describe("storeError", () => {
  test("a locked store (SQLITE_BUSY) says another process holds it", () => {
    const path = join(tempDir(), "imgb.db");
    const a = new Database(path, { create: true, readwrite: true });
    a.exec("CREATE TABLE t (x)");
    a.exec("BEGIN EXCLUSIVE");
    const b = new Database(path, { readwrite: true });
    b.exec("PRAGMA busy_timeout = 0");
    const e = storeError(sqliteError(() => b.exec("INSERT INTO t VALUES (1)")), path, "record the build") as RuntimeError;
    a.exec("ROLLBACK");
    a.close();
    b.close();
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.code).toBe("store.busy");
    expect(e.message).toBe(`imgb's store '${path}' is locked by another process: cannot record the build`);
    expect(e.hint).toBe("wait for the other imgb command to finish and retry");
  });

  test("a file that is not a database (SQLITE_NOTADB) says how to recover", () => {
    const path = join(tempDir(), "imgb.db");
    writeFileSync(path, "not a database ".repeat(100));
    const e = storeError(sqliteError(() => new Database(path, { readwrite: true }).exec("CREATE TABLE IF NOT EXISTS t (x)")), path, "write to it") as RuntimeError;
    expect(e.code).toBe("store.corrupt");
    expect(e.message).toBe(`imgb's store '${path}' is damaged (file is not a database): cannot write to it`);
    expect(e.hint).toContain(`mv '${path}' '${path}.broken'`);
  });

  test("a read-only database (SQLITE_READONLY) points at IMGB_HOME", () => {
    const path = join(tempDir(), "imgb.db");
    new Database(path, { create: true, readwrite: true }).exec("CREATE TABLE t (x)");
    const ro = new Database(path, { readonly: true });
    const e = storeError(sqliteError(() => ro.exec("INSERT INTO t VALUES (1)")), path, "register the flavor") as RuntimeError;
    ro.close();
    expect(e.code).toBe("store.read-only");
    expect(e.message).toBe(`imgb's store '${path}' is read-only: cannot register the flavor`);
    expect(e.hint).toBe("point IMGB_HOME at a writable directory, e.g. IMGB_HOME=/tmp/imgb");
  });

  test("errors that are not about the store pass through unchanged", () => {
    const plain = new TypeError("x");
    expect(storeError(plain, "/s", "do")).toBe(plain);
    const own = new RuntimeError("other", "y");
    expect(storeError(own, "/s", "do")).toBe(own);
  });
});
