/**
 * imgb's store where it cannot be written or read: on a read-only mount (a real one: as root,
 * chmod does not stop writes), or a file that is not a database. Each is one clear line with
 * the way out, never "internal error … this is a bug"; commands that only read go on.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runImgb } from "../helpers/binary.ts";
import { requireTool } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const flavorFile = join(repoRoot, "examples/custom-flavor/stamped_flavor.ts");
const mounted: string[] = [];

function sh(...argv: string[]): boolean {
  return Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** A tmpfs at a fresh directory, or undefined when this machine does not let us mount. */
function tmpfs(): string | undefined {
  const dir = tempDir("imgb-rostore-");
  if (!sh("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir)) return undefined;
  mounted.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of mounted.splice(0)) sh("umount", d);
  cleanupTempDirs();
});

const canMount = await requireTool("mount -t tmpfs", () => (tmpfs() === undefined ? "store hardening needs root and mount (a read-only tmpfs)" : undefined));

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(stderr).not.toContain("internal error");
  expect(stderr).not.toContain("    at ");
  return lines[0]!;
}

describe.skipIf(!canMount)("a store on a read-only file system", () => {
  test("register, replace and remove say the store is read-only and how to move it; list still works", async () => {
    const home = tmpfs()!;
    const env = { IMGB_HOME: home };
    const first = await runImgb(["flavor", "register", flavorFile], { env });
    expect(first.code).toBe(0);
    expect(sh("mount", "-o", "remount,ro", home)).toBe(true);

    for (const args of [["flavor", "register", "--replace", flavorFile], ["flavor", "remove", "stamped"]]) {
      const r = await runImgb(args, { env });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(`error: imgb's store '${join(home, "imgb.db")}' is read-only: cannot write to it (hint: point IMGB_HOME at a writable directory, e.g. IMGB_HOME=/tmp/imgb)`);
    }
    const list = await runImgb(["flavor", "list"], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("stamped");
  });

  test("a store that does not exist yet on a read-only mount", async () => {
    const home = tmpfs()!;
    expect(sh("mount", "-o", "remount,ro", home)).toBe(true);
    const r = await runImgb(["flavor", "register", flavorFile], { env: { IMGB_HOME: join(home, "imgb") } });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toContain(`error: imgb's store '${join(home, "imgb", "imgb.db")}' is read-only`);
  });

  test("build goes on without reuse and says why", async () => {
    const home = tmpfs()!;
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "image_builder: { flavor: oci }\nimages:\n  app: { context: ., dockerfile_inline: \"FROM scratch\\nCOPY a /a\\n\" }\n", a: "a" });
    expect((await runImgb(["flavor", "list"], { env: { IMGB_HOME: home } })).code).toBe(0);
    expect(sh("mount", "-o", "remount,ro", home)).toBe(true);
    const r = await runImgb(["build", "--progress", "plain", "--output", `oci-layout:${join(dir, "out")}`], { cwd: dir, env: { IMGB_HOME: home } });
    expect(r.stderr).toContain("warning: builds are neither reused nor recorded: imgb's store");
    expect(r.stderr).toContain("is read-only");
    expect(r.stderr).not.toContain("internal error");
    expect(r.code).toBe(0);
  });
});

describe("a store file that is not a database", () => {
  test("register says it is damaged and how to recover; validate warns and goes on", async () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    const db = join(home, "imgb.db");
    writeFileSync(db, "this is not sqlite ".repeat(200));
    const reg = await runImgb(["flavor", "register", flavorFile], { env: { IMGB_HOME: home } });
    expect(reg.code).toBe(1);
    expect(oneLine(reg.stderr)).toBe(`error: imgb's store '${db}' is damaged (file is not a database): cannot write to it (hint: move it aside (mv '${db}' '${db}.broken'); imgb starts a new one, and custom flavors must be registered again)`);
    const v = await runImgb(["validate", "-f", join(repoRoot, "examples/hello/imgb.yaml")], { env: { IMGB_HOME: home } });
    expect(v.code).toBe(0);
    expect(v.stderr).toContain(`warning: registered flavors are unavailable: imgb's store '${db}' is damaged`);
  });
});
