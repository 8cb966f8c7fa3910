/**
 * The release binary on its own: copied out of the build directory, run from an empty directory
 * with nothing but PATH in its environment (HOME unset), and with a store it cannot write.
 * Commands that need no store work; those that need it fail with a message that says what to do.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { RELEASE_TIMEOUT, releaseBuild, run } from "./_release.ts";

afterAll(cleanupTempDirs);

const ENV = { PATH: "/usr/bin:/bin" };
let bin = "";
let stackDir = "";

beforeAll(async () => {
  // A copy in a directory of its own: nothing of the source tree or the release dir beside it.
  const { hostBinary } = await releaseBuild();
  const binDir = tempDir("imgb-bin-");
  chmodSync(binDir, 0o755); // run as nobody below
  bin = join(binDir, "imgb");
  copyFileSync(hostBinary, bin);
  chmodSync(bin, 0o755);
  stackDir = tempDir("imgb-stack-");
  cpSync(join(repoRoot, "examples/hello"), stackDir, { recursive: true });
  cpSync(join(repoRoot, "examples/custom-flavor"), join(stackDir, "custom"), { recursive: true });
  chmodSync(stackDir, 0o755);
}, RELEASE_TIMEOUT);

const imgb = (args: string[], env: Record<string, string> = ENV, cwd = tempDir("imgb-empty-")) => run([bin, ...args], { cwd, env });

describe("release binary from an empty directory, HOME unset", () => {
  test("version, validate, print, context, schema and flavor list need no store", async () => {
    const stack = join(stackDir, "imgb.yaml");
    for (const args of [["version", "--json"], ["validate", "-f", stack], ["print", "-f", stack], ["context", "hello", "-f", stack, "--list"], ["schema"], ["flavor", "list"]]) {
      const r = await imgb(args);
      expect({ args, code: r.code, stderr: r.stderr.includes("warning") ? r.stderr : "" }).toEqual({ args, code: 0, stderr: "" });
    }
    // A stack that names its flavor file works without a store too: nothing is registered.
    const custom = await imgb(["validate", "-f", join(stackDir, "custom/imgb.yaml")]);
    expect(custom.code).toBe(0);
  });

  test("flavor register says there is no place for the store and how to give it one (exit 1)", async () => {
    const r = await imgb(["flavor", "register", join(stackDir, "custom/stamped_flavor.ts")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("No place for imgb's store: HOME, XDG_DATA_HOME and IMGB_HOME are all unset");
    expect(r.stderr).toContain("set IMGB_HOME to a writable directory");
    expect(r.stderr).not.toContain("internal error");
  });

  test("IMGB_HOME makes the store usable without HOME", async () => {
    const home = tempDir("imgb-home-");
    const r = await imgb(["flavor", "register", join(stackDir, "custom/stamped_flavor.ts")], { ...ENV, IMGB_HOME: home });
    expect(r.code).toBe(0);
    expect((await imgb(["flavor", "list"], { ...ENV, IMGB_HOME: home })).stdout).toContain("stamped");
  });

  test("a store location that cannot be created: clear error naming the path, exit 1", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "");
    const store = join(dir, "file", "imgb");
    const r = await imgb(["flavor", "register", join(stackDir, "custom/stamped_flavor.ts")], { ...ENV, IMGB_HOME: store });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot open imgb's store '${store}/imgb.db' (ENOTDIR`);
    expect(r.stderr).toContain("point IMGB_HOME at a writable directory");
    // Reading commands are not affected by a store that does not exist.
    expect((await imgb(["validate", "-f", join(stackDir, "imgb.yaml")], { ...ENV, IMGB_HOME: store })).code).toBe(0);
  });

  // The read-only case needs a non-root user: root writes through mode 0555.
  const asNobody = (args: string[], env: Record<string, string>) =>
    run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, ...args], { cwd: stackDir, env });

  test("a store directory the user cannot write: register fails with a clear message", async () => {
    const home = tempDir("imgb-rohome-");
    chmodSync(home, 0o555);
    const r = await asNobody(["flavor", "register", join(stackDir, "custom/stamped_flavor.ts")], { ...ENV, IMGB_HOME: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`imgb's store '${home}/imgb.db' is read-only: cannot write to it`);
    expect(r.stderr).toContain("point IMGB_HOME at a writable directory");
    expect(r.stderr).not.toContain("internal error");
  });

  // An existing store on a location the user cannot write (a read-only mount, another user's
  // directory) is still read: stack commands work and registered flavors stay listed. (It used
  // to break every stack command with "internal error: attempt to write a readonly database".)
  test("an existing store the user cannot write is still read: validate works, flavors are listed", async () => {
    const home = tempDir("imgb-rostore-");
    chmodSync(home, 0o755);
    const reg = await imgb(["flavor", "register", join(stackDir, "custom/stamped_flavor.ts")], { ...ENV, IMGB_HOME: home });
    expect(reg.code).toBe(0);
    chmodSync(join(home, "imgb.db"), 0o644);
    const r = await asNobody(["validate", "-f", join(stackDir, "imgb.yaml")], { ...ENV, IMGB_HOME: home });
    expect(r.stderr).not.toContain("internal error");
    expect(r.code).toBe(0);
    const list = await asNobody(["flavor", "list"], { ...ENV, IMGB_HOME: home });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("stamped");
  });

  test("context -o FILE of a big tree is written by two threads: the worker is in the binary, found from any directory", async () => {
    const tree = tempDir("imgb-big-");
    for (let d = 0; d < 6; d++) {
      mkdirSync(join(tree, `d${d}`));
      for (let f = 0; f < 300; f++) writeFileSync(join(tree, `d${d}`, `f${f}`), "x".repeat(f));
    }
    const out = join(tempDir("imgb-out-"), "ctx.tar");
    const r = await imgb(["context", "--debug", tree, "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/context: \d+ parts, \d+ written by a second thread \(it ran\), \d+ by the main thread/);
    const sum = await imgb(["context", tree, "--checksum"]);
    expect(sum.stdout.trim()).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(out)).digest("hex")}`);
    // The same worker copies a tree (what podman and buildah get).
    const dest = join(tempDir("imgb-dir-"), "ctx");
    const d = await imgb(["context", "--debug", tree, "--directory", dest]);
    expect(d.code).toBe(0);
    expect(d.stderr).toMatch(/context: \d+ parts, \d+ copied by a second thread \(it ran\), \d+ by the main thread/);
    expect(readFileSync(join(dest, "d5/f299"), "utf8")).toBe("x".repeat(299));
  });
});
