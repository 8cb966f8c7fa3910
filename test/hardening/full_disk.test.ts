/**
 * A full (or read-only) disk wherever imgb writes (issue #11, item 14): the oci flavor's layers
 * and downloaded base blobs in TMPDIR, an OCI layout, the --metadata-file. Each is one clear line naming the file, exit 1,
 * no Bun stack trace, and nothing left behind (no layer file, no `*.tmp`). The full disk is a
 * 1 MiB tmpfs (we are root in the test environment), unmounted in afterAll. No engine needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { requireEngine, requireTool } from "../helpers/testenv.ts";
import { pushBase, REGISTRY_BASE } from "../oci/_oci_e2e.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.splice(0)) Bun.spawnSync(["umount", m]);
  cleanupTempDirs();
});

/** A fresh 1 MiB tmpfs (`ro`: read-only), or undefined when this machine cannot mount one. */
function tmpfs(options = "size=1m"): string | undefined {
  const dir = tempDir("imgb-fulldisk-");
  const p = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir], { stderr: "pipe" });
  if (p.exitCode !== 0) return undefined;
  mounts.push(dir);
  return dir;
}

/** Fill a tmpfs to the last byte. */
function fill(dir: string): void {
  try {
    writeFileSync(join(dir, "filler"), new Uint8Array(2 << 20));
  } catch {
    // ENOSPC: full, as wanted
  }
}

const canMount = await requireTool("mount -t tmpfs", () => (tmpfs() === undefined ? "full-disk tests need `mount -t tmpfs` (root)" : undefined));

/** An oci-flavor stack writing an OCI layout to `out`; `big` bytes of incompressible content. */
function project(out: string, big: number) {
  const dir = tempDir("imgb-fulldisk-stack-");
  const content = new Uint8Array(big);
  for (let o = 0; o < big; o += 65536) randomFillSync(content, o, Math.min(65536, big - o));
  writeTree(dir, {
    "imgb.yaml": `image_builder: { flavor: oci, config: { output: "oci-layout:${out}" } }\nimages:\n  app: { context: ctx }\n`,
    "ctx/Dockerfile": "FROM scratch\nCOPY big /big\n",
    "ctx/big": content,
  });
  return dir;
}

function expectOneCleanError(stderr: string, text: RegExp): void {
  const lines = stderr.split("\n").filter((l) => text.test(l));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(stderr).not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m); // no stack frames
  expect(stderr).not.toContain("Bun v");
  expect(stderr).not.toContain("internal error");
}

const ls = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();

describe.skipIf(!canMount)("full disk", () => {
  test("oci flavor, full TMPDIR: one line naming the layer file, exit 1, the temp dir is gone", async () => {
    const tmp = tmpfs()!;
    const out = tempDir("imgb-fulldisk-out-");
    const dir = project(join(out, "layout"), 3 << 20);
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { TMPDIR: tmp, IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /Cannot write an image layer '.*layer-0\.tar\.gz': no space left on the device \(ENOSPC\)/);
    expect(r.stderr).toContain("TMPDIR=");
    expect(ls(tmp)).toEqual([]);
  }, 60_000);

  test("oci layout on a full disk: one line, no half-written blob or *.tmp in the layout", async () => {
    const out = tmpfs()!;
    const dir = project(join(out, "layout"), 1200 << 10);
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /Cannot write an OCI layout blob '.*': no space left on the device \(ENOSPC\)/);
    expect(ls(out).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }, 60_000);

  test("docker archive on a full disk: one line, no temp archive left", async () => {
    const out = tmpfs()!;
    const dir = project(join(out, "layout"), 1200 << 10);
    writeFileSync(join(dir, "imgb.yaml"), `image_builder: { flavor: oci, config: { output: "docker-archive:${join(out, "app.tar")}" } }\nimages:\n  app: { context: ctx }\n`);
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /Cannot write the docker archive '.*app\.tar': no space left on the device \(ENOSPC\)/);
    expect(ls(out)).toEqual([]);
  }, 60_000);

  for (const [label, options] of [["full", "size=1m"], ["read-only", "ro,size=1m"]] as const) {
    test(`--metadata-file on a ${label} disk: one line, exit 1, no *.tmp; the reference is still printed`, async () => {
      const meta = tmpfs(options)!;
      if (label === "full") fill(meta);
      const before = ls(meta);
      const dir = project(join(tempDir("imgb-fulldisk-out-"), "layout"), 16);
      const r = await runImgb(["build", "--metadata-file", join(meta, "meta.json")], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } });
      expect({ code: r.code, stderr: r.stderr.split("\n").filter((l) => l.startsWith("error:")) }).toMatchObject({ code: 1 });
      const code = label === "full" ? "no space left on the device \\(ENOSPC\\)" : "the file system is read-only \\(EROFS\\)";
      expectOneCleanError(r.stderr, new RegExp(`^error: Cannot write the metadata file '${join(meta, "meta.json")}': ${code}`));
      expect(r.stdout).toBe("app:latest\n");
      expect(ls(meta)).toEqual(before);
    }, 60_000);
  }
});

const canMountAndPush = canMount && (await requireEngine("docker", "registry"));
describe.skipIf(!canMountAndPush)("full disk (base image from the registry)", () => {
  test("oci flavor: a base blob download into a full TMPDIR is one line about the disk, not the registry", async () => {
    await pushBase();
    const tmp = tmpfs("size=256k")!;
    const dir = tempDir("imgb-fulldisk-stack-");
    writeTree(dir, {
      "imgb.yaml": `image_builder: { flavor: oci, config: { output: "oci-layout:${join(tempDir("imgb-fulldisk-out-"), "layout")}" } }\nimages:\n  app: { context: ctx }\n`,
      "ctx/Dockerfile": `FROM ${REGISTRY_BASE}\nCOPY a /a\n`,
      "ctx/a": "a\n",
    });
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { TMPDIR: tmp, IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /Cannot write a downloaded blob '.*\.partial': no space left on the device \(ENOSPC\)/);
    expect(r.stderr).not.toContain("dropped the connection");
    expect(ls(tmp)).toEqual([]);
  }, 60_000);
});
