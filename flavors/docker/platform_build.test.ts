import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ExecError } from "../../src/exec.ts";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";
import { explainPlatformFailure } from "./platform_build.ts";

afterAll(cleanupTempDirs);

const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };
const failure = (tail: string[]) => new ExecError({ argv: ["docker", "build", "--platform", "linux/arm64", "-"], exitCode: 1, durationMs: 5, tail });
const execFormat = failure(["#5 0.055 exec /bin/sh: exec format error", "executor failed running [/bin/sh -c uname -m]: exit code: 1"]);

/** A binfmt_misc directory: mounted (`register` exists), with `handlers` in the given states. */
function binfmt(handlers: Record<string, "enabled" | "disabled">, mounted = true): string {
  const dir = tempDir("imgb-binfmt-");
  mkdirSync(dir, { recursive: true });
  if (mounted) writeFileSync(join(dir, "register"), "");
  for (const [name, state] of Object.entries(handlers)) writeFileSync(join(dir, name), `${state}\ninterpreter /usr/libexec/qemu-binfmt/x\n`);
  return dir;
}

describe("a foreign platform's exec format error", () => {
  test("no handler: names the platform, qemu-user-static and the binfmt_misc file to check", () => {
    const dir = binfmt({});
    const e = explainPlatformFailure(execFormat, "image 'app' for linux/arm64", {}, arm64, amd64, dir) as ExecError;
    expect(e.code).toBe("build.emulation");
    expect(e.shortMessage).toBe(
      `Build of image 'app' for linux/arm64 failed: RUN steps for linux/arm64 need an emulator on this linux/amd64 machine: no enabled qemu-aarch64 handler in ${dir}; install qemu-user-static (Debian/Ubuntu: apt-get install qemu-user-static binfmt-support; then update-binfmts --enable qemu-aarch64) and check that ${dir}/qemu-aarch64 says "enabled": docker build --platform linux/arm64 -`,
    );
    expect(e.hint).toBe(`check the emulator with: cat ${dir}/qemu-aarch64`);
  });

  test("binfmt_misc not mounted: says to mount it", () => {
    const dir = binfmt({}, false);
    const e = explainPlatformFailure(execFormat, "image 'app'", {}, arm64, amd64, dir) as ExecError;
    expect(e.shortMessage).toContain(`${dir} is not mounted`);
    expect(e.shortMessage).toContain(`mount -t binfmt_misc binfmt_misc ${dir}`);
  });

  test("a handler enabled here but the daemon still cannot: the daemon needs its own emulator", () => {
    const dir = binfmt({ "qemu-aarch64": "enabled" });
    const e = explainPlatformFailure(execFormat, "image 'app'", {}, arm64, amd64, dir) as ExecError;
    expect(e.code).toBe("build.emulation");
    expect(e.shortMessage).toContain("the daemon runs elsewhere or without it; install qemu-user-static");
  });

  test("the native platform, or another failure: the usual explanation", () => {
    const dir = binfmt({});
    expect((explainPlatformFailure(execFormat, "image 'app'", {}, amd64, amd64, dir) as ExecError).code).not.toBe("build.emulation");
    const step = explainPlatformFailure(failure(["executor failed running [/bin/sh -c false]: exit code: 1"]), "image 'app' for linux/arm64", {}, arm64, amd64, dir) as ExecError;
    expect(step.code).toBe("build.step-failed");
    expect(step.shortMessage).toStartWith("Build of image 'app' for linux/arm64 failed: a build step (/bin/sh -c false) exited with code 1");
  });
});
