import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir } from "../test/helpers/tmp.ts";
import { canRun, emulationProblem, hostPlatform, isForeign, looksLikeExecFormatError, qemuHandler } from "./emulation.ts";

const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };

function binfmt(handlers: Record<string, string>): string {
  const dir = tempDir("binfmt-");
  writeFileSync(join(dir, "register"), "");
  for (const [name, body] of Object.entries(handlers)) writeFileSync(join(dir, name), body);
  return dir;
}

afterAll(cleanupTempDirs);

describe("emulation", () => {
  test("host platform names", () => {
    expect(hostPlatform("x64")).toEqual(amd64);
    expect(hostPlatform("arm64")).toEqual(arm64);
    expect(hostPlatform("arm")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
  });

  test("native and foreign", () => {
    expect(isForeign(amd64, amd64)).toBe(false);
    expect(isForeign({ os: "linux", architecture: "386" }, amd64)).toBe(false);
    expect(isForeign(arm64, amd64)).toBe(true);
    expect(isForeign(amd64, arm64)).toBe(true);
    expect(qemuHandler("arm64")).toBe("qemu-aarch64");
    expect(qemuHandler("amd64")).toBe("qemu-x86_64");
  });

  test("an enabled handler makes a foreign platform runnable", () => {
    const dir = binfmt({ "qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n" });
    expect(canRun(arm64, amd64, dir)).toBe(true);
    expect(emulationProblem(arm64, amd64, dir)).toBeUndefined();
    expect(emulationProblem(amd64, amd64, join(dir, "missing"))).toBeUndefined();
  });

  test("a disabled or missing handler is explained", () => {
    const disabled = binfmt({ "qemu-aarch64": "disabled\n" });
    expect(canRun(arm64, amd64, disabled)).toBe(false);
    const msg = emulationProblem(arm64, amd64, disabled)!;
    expect(msg).toContain("linux/arm64");
    expect(msg).toContain("qemu-user-static");
    expect(msg).toContain(`${disabled}/qemu-aarch64`);
    const unmounted = join(disabled, "nothing");
    mkdirSync(unmounted);
    expect(emulationProblem(arm64, amd64, unmounted)).toContain("mount -t binfmt_misc");
  });

  test("exec format errors are recognised", () => {
    expect(looksLikeExecFormatError("standard_init_linux.go:228: exec user process caused: exec format error")).toBe(true);
    expect(looksLikeExecFormatError("/bin/sh: 1: permission denied")).toBe(false);
  });
});
