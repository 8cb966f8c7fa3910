import { afterAll, describe, expect, test } from "bun:test";
import { dirname, join, relative } from "node:path";
import { InputError, InputErrors } from "../../src/errors.ts";
import { loadStack } from "../../src/stack/load.ts";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { corpus, type BadStack } from "./corpus.ts";

afterAll(cleanupTempDirs);

export function writeCase(c: BadStack): string {
  const dir = tempDir("imgb-corpus-");
  writeTree(dir, { ...(c.files ?? {}), "imgb.yaml": typeof c.yaml === "function" ? c.yaml() : c.yaml });
  return join(dir, "imgb.yaml");
}

/** One error as the corpus writes it: `LINE:COL: message (at path) [hint: …]`, see BadStack.lines. */
export function renderError(e: InputError, file: string): string {
  const dir = dirname(file);
  const loc = e.location;
  const other = loc?.file !== undefined && loc.file !== file ? `${relative(dir, loc.file)}:` : "";
  const where = loc?.line === undefined ? other : `${other}${loc.line}${loc.col === undefined ? "" : `:${loc.col}`}:`;
  const path = loc?.path && loc.line !== undefined ? ` (at ${loc.path})` : "";
  const text = `${where ? `${where} ` : ""}${e.message}${path}${e.hint ? ` [hint: ${e.hint}]` : ""}`;
  return text.split(dir).join("<dir>");
}

describe("bad stack corpus", () => {
  test("has at least 30 cases", () => expect(corpus.length).toBeGreaterThanOrEqual(30));

  for (const c of corpus) {
    test(c.name, async () => {
      const file = writeCase(c);
      const started = performance.now();
      const err = await loadStack(file, { env: c.env ?? {}, cwd: "/", set: c.set }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(5000); // refused, not expanded
      expect(err).toBeInstanceOf(InputError);
      const all = err instanceof InputErrors ? err.errors : [err as InputError];
      for (const e of all) expect(e.exitCode).toBe(2);
      // One mistake, one line: the exact list, or else exactly one error.
      if (c.lines) expect(all.map((e) => renderError(e, file))).toEqual(c.lines);
      else expect(all.map((e) => renderError(e, file))).toHaveLength(1);
      if (c.expect) {
        const match = all.find((e) => c.expect!.message.test(e.message));
        if (!match) throw new Error(`no error matches ${c.expect.message}; got:\n${all.map((e) => e.describe()).join("\n")}`);
        if (c.expect.line !== undefined) expect(match.location?.line).toBe(c.expect.line);
        if (c.expect.col !== undefined) expect(match.location?.col).toBe(c.expect.col);
        if (c.expect.path !== undefined) expect(match.location?.path).toBe(c.expect.path);
        if (c.expect.hint !== undefined) expect(match.hint ?? "").toMatch(c.expect.hint);
        expect(match.location?.file ?? file).toBe(file);
      }
      // A secret written in the file never comes back in a message.
      for (const e of all) expect(`${e.message} ${e.hint ?? ""}`).not.toContain("hunter2");
    });
  }
});

describe("edges of the corpus that must load", () => {
  const load = async (yaml: string, files: Record<string, string> = {}) => {
    const dir = tempDir("imgb-corpus-ok-");
    writeTree(dir, { Dockerfile: "FROM scratch\n", ...files, "imgb.yaml": yaml });
    return loadStack(join(dir, "imgb.yaml"), { env: {}, cwd: "/" });
  };
  test("octal modes in every accepted form", async () => {
    const s = await load('images:\n  app:\n    context: .\n    extra_files:\n      a: { content: x, mode: 0755 }\n      b: { content: x, mode: 0o700 }\n      c: { content: x, mode: "0640" }\n      d: { content: x, mode: "0o600" }\n      e: { content: x, mode: 0 }\n      f: { content: x }\n');
    expect(s.images.app!.extraFiles.map((f) => [f.destination, f.mode])).toEqual([["a", 0o755], ["b", 0o700], ["c", 0o640], ["d", 0o600], ["e", 0], ["f", undefined]]);
  });
  test("registry URIs: IPv6 with port, namespace, trailing slash", async () => {
    for (const uri of ["[::1]:5000", "ghcr.io/acme/team", "127.0.0.1:65535/a/"]) {
      const s = await load(`container_registry:\n  uri: "${uri}"\nimages:\n  app:\n    context: .\n`);
      expect(s.containerRegistry?.uri).toBe(uri.replace(/\/$/, ""));
    }
  });
  test("an escaped image reference is literal text anywhere; a real one in build_args", async () => {
    const s = await load('images:\n  app:\n    context: .\n    labels: { from: "$${images.base.ref}" }\n    build_args: { BASE: "${images.base.ref}" }\n  base:\n    context: .\n');
    expect(s.images.app!.labels.from).toBe("${images.base.ref}");
    expect(s.images.app!.buildArgs.BASE).toBe("${images.base.ref}");
  });
  test("a 255-character image name", async () => {
    const s = await load(`images:\n  ${"a".repeat(255)}:\n    context: .\n`);
    expect(Object.keys(s.images)[0]).toHaveLength(255);
  });
  test("oci with an output and no registry", async () => {
    const s = await load('image_builder:\n  flavor: oci\n  config: { output: "oci-layout:out" }\nimages:\n  app:\n    context: .\n');
    expect(s.imageBuilder.config.output).toBe("oci-layout:out");
  });
});

describe("bad stack corpus through the binary", () => {
  for (const c of corpus) {
    test(`${c.name}: exit 2, one line per error, no stack trace`, async () => {
      const file = writeCase(c);
      // validate has no --set; print takes it the same way build does.
      const args = c.set ? ["print", "-f", file, "--no-plan", ...c.set.flatMap((s) => ["--set", s])] : ["validate", "-f", file];
      const r = await runImgb(args, { env: { ...c.env, NO_COLOR: "1", IMGB_HOME: join(dirname(file), ".home") } });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trimEnd().split("\n");
      const count = c.lines?.length ?? 1;
      expect(lines.filter((l) => / ?error: /.test(l))).toHaveLength(count);
      expect(lines).toHaveLength(count > 1 ? count + 1 : count);
      if (count > 1) expect(lines[count]).toBe(`${count} errors`);
    });
  }
});
