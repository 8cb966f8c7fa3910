/**
 * Cancelling an `oci` build (SIGINT in the CLI aborts `env.signal`) while a big layer is being
 * written: the build ends with CancelledError and its temporary directory (layers, downloaded
 * blobs) is gone. No engine or registry needed: the output is an OCI layout.
 */
import { afterAll, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CancelledError } from "../../src/errors.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";
import { fixture, ociBuild } from "./_oci_e2e.ts";

const roots: string[] = [];
afterAll(cleanupTempDirs);
const ownTemps = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith("imgb-oci-") && !roots.some((r) => r.endsWith(n))));

test("cancel while writing a layer: CancelledError, temp files removed, no output", async () => {
  const big = new Uint8Array(64 << 20);
  for (let o = 0; o < big.length; o += 1 << 16) randomFillSync(big, o, 1 << 16);
  const root = fixture({ Dockerfile: "FROM scratch\nCOPY big /big\n", big });
  const out = fixture({});
  roots.push(root, out);
  const before = ownTemps();
  const controller = new AbortController();
  let during: Set<string> | undefined;
  const onLog = (line: string) => {
    if (line.includes("COPY big")) {
      during = ownTemps();
      setTimeout(() => controller.abort(), 20);
    }
  };
  const err = await ociBuild(root, "cancelled", { output: `oci-layout:${join(out, "layout")}` }, undefined, {}, controller.signal, onLog).catch((e) => e);
  expect(err).toBeInstanceOf(CancelledError);
  expect([...during!].filter((n) => !before.has(n)).length).toBe(1); // the build's own temp dir existed…
  expect([...ownTemps()].filter((n) => !before.has(n))).toEqual([]); // …and is gone
  expect(existsSync(join(out, "layout", "index.json"))).toBe(false);
}, 60_000);
