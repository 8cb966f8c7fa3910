/**
 * Hostile stack files: nesting that made the YAML composer quadratic or overflow its stack, and
 * `-f` on things that are not regular files (a FIFO used to block imgb beyond SIGTERM's reach).
 * Each must end fast with exit 2 and one line saying what and where.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { imgbBinary } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

/** Runs the binary, killing it after `ms` (a hang is reported as code null, not a stuck suite). */
async function run(args: string[], cwd: string, ms = 10_000): Promise<{ code: number | null; stderr: string; elapsed: number }> {
  const start = performance.now();
  const proc = Bun.spawn([imgbBinary(), ...args], { cwd, stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: cwd } });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill("SIGKILL");
  }, ms);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code: hung ? null : code, stderr, elapsed: performance.now() - start };
}

function oneError(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(stderr).not.toContain("    at ");
  return lines[0]!;
}

describe("nesting depth is bounded before the YAML parser runs", () => {
  const cases: [string, string, RegExp][] = [
    ["5,000 nested flow mappings (was 40 s)", `images: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n`, /^.*deep\.yaml:1:\d+: error: YAML nests too deeply: more than 64 levels/],
    ["20,000 '[' (was 'maximum call stack size exceeded')", `images: ${"[".repeat(20_000)}\n`, /^.*deep\.yaml:1:\d+: error: YAML nests too deeply/],
    ["100,000 compact '- ' entries", `images:\n  ${"- ".repeat(100_000)}x\n`, /^.*deep\.yaml:2:\d+: error: YAML nests too deeply/],
    ["block mappings 100 levels deep", Array.from({ length: 100 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n"), /^.*deep\.yaml:65:65: error: YAML nests too deeply/],
  ];
  for (const [name, text, expected] of cases) {
    test(name, async () => {
      const dir = tempDir();
      writeTree(dir, { "deep.yaml": text });
      const r = await run(["validate", "-f", "deep.yaml"], dir);
      expect(r.code).toBe(2);
      expect(oneError(r.stderr)).toMatch(expected);
      expect(r.elapsed).toBeLessThan(5000);
    });
  }

  test("a real stack with brackets inside a block scalar still validates", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": `image_builder: { flavor: docker }\nimages:\n  app:\n    dockerfile_inline: |\n      FROM scratch\n      CMD ${JSON.stringify(["[".repeat(200)])}\n` });
    const r = await run(["validate", "-f", "imgb.yaml"], dir);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
  });
});

describe("a large flat stack is linear, not quadratic", () => {
  test("1 MiB with 25,000 images, each with unknown keys: seconds, not 70 s", async () => {
    const dir = tempDir();
    let text = "images:\n";
    for (let k = 0; text.length < 1_000_000; k++) text += `  k${k}: {a: 1, b: [x, y], c: zzzzzz}\n`;
    writeTree(dir, { "imgb.yaml": text.slice(0, text.lastIndexOf("\n", 1_000_000) + 1) });
    const r = await run(["validate"], dir, 60_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("imgb.yaml:2:8: error: Unknown key 'a' (at /images/k0/a)");
    expect(r.stderr).toMatch(/\.\.\. and \d+ more errors/);
    expect(r.elapsed).toBeLessThan(20_000);
  }, 70_000);

  test("duplicate keys are still found, each at the repeated key", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "images:\n  a: {}\n  b: {x: 1, x: 2}\n  a: {}\n" });
    const r = await run(["validate"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `${join(dir, "imgb.yaml")}:3:13: error: Duplicate key: each key may appear once in a mapping (hint: remove or rename one of the two)`,
      `${join(dir, "imgb.yaml")}:4:3: error: Duplicate key: each key may appear once in a mapping (hint: remove or rename one of the two)`,
      "2 errors",
    ]);
  });
});

describe("-f reads only regular files", () => {
  test("a FIFO is refused at once, not read (it used to hang past SIGTERM)", async () => {
    const dir = tempDir();
    execFileSync("mkfifo", [join(dir, "imgb.yaml")]);
    const r = await run(["validate", "-f", "imgb.yaml"], dir, 5000);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr)).toBe(`error: Stack file '${join(dir, "imgb.yaml")}' is not a regular file (it is a FIFO) (hint: imgb reads stack files only from regular files; save the YAML to a file and pass it with -f)`);
  });

  test("a symlink to a FIFO is refused too", async () => {
    const dir = tempDir();
    execFileSync("mkfifo", [join(dir, "pipe")]);
    execFileSync("ln", ["-s", "pipe", join(dir, "imgb.yaml")]);
    const r = await run(["validate"], dir, 5000);
    expect(r.code).toBe(2);
    expect(oneError(r.stderr)).toContain("is not a regular file (it is a FIFO)");
  });

  test("a character device and a directory", async () => {
    const dir = tempDir();
    const dev = await run(["validate", "-f", "/dev/zero"], dir);
    expect(dev.code).toBe(2);
    expect(oneError(dev.stderr)).toContain("error: Stack file '/dev/zero' is not a regular file (it is a character device)");
    const d = await run(["validate", "-f", dir], dir);
    expect(d.code).toBe(2);
    expect(oneError(d.stderr)).toContain(`error: Stack file '${dir}' is a directory`);
  });
});
