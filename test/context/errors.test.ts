/**
 * Files that change under the writer: growing, shrinking, vanishing or unreadable files end
 * the stream with a RuntimeError naming the file, never a clean end; a path sink is left
 * untouched. Special files are skipped with a warning.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError, InputError, RuntimeError } from "../../src/errors.ts";
import { requireTool } from "../helpers/testenv.ts";
import { makeTree, tempDir } from "./_tree.ts";

const work = tempDir("errors");
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

// sysfs files report 4096 bytes and return fewer (used below for a deterministic "shrank").
const SYSFS = "/sys/class/net/lo/mtu";
const haveSysfs = await requireTool("sysfs", () => (existsSync(SYSFS) ? undefined : `${SYSFS} is missing`));

let n = 0;
/** a.bin (3 MiB) fills the first chunk, so b.txt is read only after we tamper with it. */
function fixture(): string {
  return makeTree(join(work, `case${n++}`), { "a.bin": new Uint8Array(3 << 20).fill(7), "b.txt": "0123456789" });
}

/** Read the first chunk, run `tamper`, then read the rest: the error (if any) is returned. */
async function readWith(root: string, tamper: () => void): Promise<unknown> {
  const reader = new BuildContext({ root }).stream().getReader();
  await reader.read();
  tamper();
  try {
    for (;;) if ((await reader.read()).done) return undefined;
  } catch (e) {
    return e;
  }
}

describe("a file that changes while being sent", () => {
  test.each([
    ["grows", (p: string) => appendFileSync(p, "more"), /changed while the build context was being sent: it grew from 10 bytes/],
    ["shrinks", (p: string) => truncateSync(p, 3), /changed while the build context was being sent: it shrank from 10 bytes/],
    ["vanishes", (p: string) => unlinkSync(p), /vanished while the build context was being sent/],
    ["becomes a directory", (p: string) => (unlinkSync(p), mkdirSync(p)), /Cannot read ".*b\.txt": EISDIR/],
  ])("%s: the stream fails with a RuntimeError naming it", async (_, tamper, message) => {
    const root = fixture();
    const err = await readWith(root, () => tamper(join(root, "b.txt")));
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toContain(join(root, "b.txt"));
    expect((err as Error).message).toMatch(message);
  });

  // sysfs files report 4096 bytes and return fewer: a deterministic "shrank" in mid-archive.
  test.skipIf(!haveSysfs)("writeArchive to a path leaves neither a partial archive nor a temp file", async () => {
    const root = fixture();
    const out = join(work, "out");
    mkdirSync(out);
    const ctx = new BuildContext({ root }).addFile(SYSFS, "zz/mtu");
    const err = await ctx.writeArchive(join(out, "ctx.tar")).catch((e) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toContain(`"${SYSFS}" changed while the build context was being sent: it shrank from 4096 bytes`);
    expect(readdirSync(out)).toEqual([]);
  });

  test("a failing stream aborts a WritableStream sink instead of closing it", async () => {
    const root = fixture();
    const events: string[] = [];
    const sink = new WritableStream<Uint8Array>({
      write() {
        if (events.length === 0) unlinkSync(join(root, "b.txt"));
        events.push("write");
      },
      close() {
        events.push("close");
      },
      abort(reason) {
        events.push(`abort: ${(reason as Error).constructor.name}`);
      },
    });
    await expect(new BuildContext({ root }).writeArchive(sink)).rejects.toBeInstanceOf(RuntimeError);
    expect(events.at(-1)).toBe("abort: RuntimeError");
    expect(events).not.toContain("close");
  });
});

describe("unreadable files", () => {
  // Tests run as root, for whom mode 000 does not stop reads: run the reader as "nobody".
  test("a file the user cannot read fails with EACCES naming it", () => {
    const root = makeTree(join(work, "unreadable"), { "ok.txt": "ok", "secret.txt": "s" });
    chmodSync(root, 0o755);
    chmodSync(join(root, "secret.txt"), 0o600);
    const script = `import { BuildContext } from ${JSON.stringify(join(import.meta.dir, "../../src/context/build_context.ts"))};
try { await new BuildContext({ root: ${JSON.stringify(root)} }).checksum(); console.log("no error"); }
catch (e) { console.log(e.constructor.name + ": " + e.message); }`;
    writeFileSync(join(work, "as-nobody.ts"), script);
    chmodSync(join(work, "as-nobody.ts"), 0o644);
    const p = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, join(work, "as-nobody.ts")], {
      stderr: "pipe",
      // No transpiler cache: as nobody, Bun would write it below HOME (or /tmp/.bun), outside the test's TMPDIR.
      env: { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
    });
    expect(p.stderr.toString()).toBe("");
    expect(p.stdout.toString().trim()).toBe(`RuntimeError: Cannot read "${join(root, "secret.txt")}": EACCES: permission denied`);
  });
});

describe("special files and bad roots", () => {
  test("FIFOs and sockets are skipped with a warning (never opened: no hang)", async () => {
    const root = makeTree(join(work, "special"), { "f.txt": "f" });
    expect(Bun.spawnSync(["mkfifo", join(root, "pipe")]).exitCode).toBe(0);
    const server = Bun.listen({ unix: join(root, "sock"), socket: { data() {} } });
    try {
      const warnings: string[] = [];
      const ctx = new BuildContext({ root, onWarning: (m) => warnings.push(m) });
      expect((await ctx.files()).map((f) => f.path)).toEqual(["f.txt"]);
      expect(warnings.sort()).toEqual([
        'Skipping FIFO "pipe": only files, directories and symlinks are sent',
        'Skipping socket "sock": only files, directories and symlinks are sent',
      ]);
      expect((await ctx.checksum()).startsWith("sha256:")).toBe(true);
    } finally {
      server.stop(true);
    }
  });

  test("a file name that is not valid UTF-8 is an error, not a silently dropped file", async () => {
    const root = makeTree(join(work, "latin1"), { ok: "ok" });
    writeFileSync(Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9])]), "x"); // "café" in Latin-1
    await expect(new BuildContext({ root }).files()).rejects.toThrow(/its name is not valid UTF-8/);
  });

  test("a missing root or explicit ignore file is an InputError", async () => {
    await expect(new BuildContext({ root: join(work, "nope") }).files()).rejects.toBeInstanceOf(InputError);
    const root = makeTree(join(work, "noignore"), { a: "a" });
    await expect(new BuildContext({ root, ignoreFile: join(root, "missing.ignore") }).files()).rejects.toThrow(/Ignore file ".*missing\.ignore" does not exist/);
  });

  test("cancelling through the signal ends the stream with CancelledError", async () => {
    const root = fixture();
    const ac = new AbortController();
    const reader = new BuildContext({ root }).stream({ signal: ac.signal }).getReader();
    await reader.read();
    ac.abort();
    await expect(reader.read()).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(root)).toBe(true);
  });
});
