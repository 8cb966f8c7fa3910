import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { checkFsEntitlements, NO_EXTRA_ACCESS, parseAllow } from "./entitlements.ts";
import type { StackFile } from "./schema.ts";

afterAll(cleanupTempDirs);

const at = (pointer: string) => ({ path: pointer });

describe("parseAllow", () => {
  test("fs.read=PATH and fs=PATH resolve against cwd; * allows everything", () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "shared"));
    expect(parseAllow(["fs.read=shared", "fs=/nonexistent/x"], cwd)).toEqual({ all: false, paths: [join(cwd, "shared"), "/nonexistent/x"] });
    expect(parseAllow(["fs=*"], cwd).all).toBe(true);
    expect(parseAllow(["fs.read=*"], cwd).all).toBe(true);
    expect(parseAllow([], cwd)).toEqual(NO_EXTRA_ACCESS);
  });
  test("unknown entitlements and missing paths are usage errors", () => {
    expect(() => parseAllow(["network.host"], "/")).toThrow(UsageError);
    expect(() => parseAllow(["fs.write=/x"], "/")).toThrow("Unknown entitlement 'fs.write'");
    expect(() => parseAllow(["fs.read"], "/")).toThrow("needs a path");
    expect(() => parseAllow(["fs.read="], "/")).toThrow("needs a path");
  });
});

describe("checkFsEntitlements", () => {
  const setup = () => {
    const root = tempDir();
    writeTree(root, { "proj/ctx/Dockerfile": "FROM scratch\n", "proj/in.txt": "i", "other/secret": "s", "proj-sibling/x": "x" });
    symlinkSync(join(root, "other/secret"), join(root, "proj/link"));
    return { root, file: join(root, "proj/imgb.yaml") };
  };
  const stack = (image: Record<string, unknown>, extra: Partial<StackFile> = {}) => ({ images: { app: image }, ...extra }) as unknown as StackFile;

  test("paths inside the stack's directory need nothing", () => {
    const { file } = setup();
    expect(checkFsEntitlements(stack({ context: "ctx", extra_files: { a: { source: "in.txt" }, b: { content: "x" } } }), file, NO_EXTRA_ACCESS, at)).toEqual([]);
    expect(checkFsEntitlements(stack({ dockerfile_inline: "FROM scratch" }), file, NO_EXTRA_ACCESS, at)).toEqual([]);
  });

  test("every key is checked, at its own pointer", () => {
    const { root, file } = setup();
    const s = stack(
      { context: "../other", dockerignore: "../other/secret", extra_files: { a: { source: "link" } } },
      { flavors: ["../other/f.ts"], container_registry: { uri: "r", credentials: { username: "u", password_file: "/etc/passwd" } } } as Partial<StackFile>,
    );
    const errors = checkFsEntitlements(s, file, NO_EXTRA_ACCESS, at);
    expect(errors.map((e) => e.location?.path)).toEqual([
      "/flavors/0",
      "/container_registry/credentials/password_file",
      "/images/app/context",
      "/images/app/dockerignore",
      "/images/app/extra_files/a/source",
    ]);
    expect(errors[4]!.message).toBe(`'source' reads '${join(root, "proj/link")}' (it resolves to '${join(root, "other/secret")}'), outside the stack file's directory '${join(root, "proj")}'`);
    expect(errors.every((e) => e.exitCode === 2)).toBe(true);
  });

  test("secret files (image and stack level) and ssh paths are checked; ssh ids forwarding $SSH_AUTH_SOCK are not", () => {
    const { file } = setup();
    const s = stack({ secrets: { a: { file: "../other/secret" }, b: { env: "TOKEN" }, c: { file: "in.txt" } }, ssh: { key: "/root/.ssh/id_ed25519" } }, { secrets: { d: { file: "/etc/shadow" } } } as Partial<StackFile>);
    expect(checkFsEntitlements(s, file, NO_EXTRA_ACCESS, at).map((e) => e.location?.path)).toEqual(["/secrets/d/file", "/images/app/secrets/a/file", "/images/app/ssh/key"]);
    expect(checkFsEntitlements(stack({ ssh: ["default"] }), file, NO_EXTRA_ACCESS, at)).toEqual([]);
  });

  test("a sibling whose name starts with the directory's name is outside", () => {
    const { file } = setup();
    expect(checkFsEntitlements(stack({ context: "../proj-sibling" }), file, NO_EXTRA_ACCESS, at)).toHaveLength(1);
  });

  test("an explicit dockerfile outside is reported; the default one only when the context is inside", () => {
    const { root, file } = setup();
    expect(checkFsEntitlements(stack({ context: "ctx", dockerfile: "../../other/secret" }), file, NO_EXTRA_ACCESS, at).map((e) => e.location?.path)).toEqual(["/images/app/dockerfile"]);
    expect(checkFsEntitlements(stack({ context: "../other" }), file, NO_EXTRA_ACCESS, at).map((e) => e.location?.path)).toEqual(["/images/app/context"]);
    symlinkSync(join(root, "other/secret"), join(root, "proj/ctx/Dockerfile.link"));
    expect(checkFsEntitlements(stack({ context: "ctx", dockerfile: "Dockerfile.link" }), file, NO_EXTRA_ACCESS, at)).toHaveLength(1);
  });

  test("allowed trees and files, and everything with all", () => {
    const { root, file } = setup();
    const s = stack({ context: "../other" });
    expect(checkFsEntitlements(s, file, { all: false, paths: [join(root, "other")] }, at)).toEqual([]);
    expect(checkFsEntitlements(s, file, { all: false, paths: [join(root, "other/secret")] }, at)).toHaveLength(1);
    expect(checkFsEntitlements(s, file, { all: true, paths: [] }, at)).toEqual([]);
  });
});

describe("coverage", () => {
  /** Every key of the stack schema whose description says it is a path. */
  function pathKeys(schema: unknown, name = "", out = new Set<string>()): Set<string> {
    if (typeof schema !== "object" || schema === null) return out;
    const s = schema as Record<string, unknown>;
    if (typeof s.description === "string" && /relative to/i.test(s.description) && name) out.add(name);
    for (const [k, v] of Object.entries((s.properties as Record<string, unknown>) ?? {})) pathKeys(v, k, out);
    for (const key of ["items", "additionalProperties", "patternProperties"] as const) {
      const v = s[key];
      if (key === "patternProperties" && v) for (const p of Object.values(v as Record<string, unknown>)) pathKeys(p, name, out);
      else if (v && typeof v === "object") pathKeys(v, name, out);
    }
    for (const v of (s.anyOf as unknown[]) ?? []) pathKeys(v, name, out);
    return out;
  }
  test("checkFsEntitlements knows every path key of the stack schema (add a new one there too)", async () => {
    const { StackSchema } = await import("./schema.ts");
    expect([...pathKeys(StackSchema)].sort()).toEqual(["context", "contexts", "dockerfile", "dockerignore", "file", "flavors", "password_file", "source", "ssh"]);
  });
});
