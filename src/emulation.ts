/**
 * Foreign platforms: a RUN step for linux/arm64 on an x86_64 machine runs only under an emulator
 * that the kernel starts through binfmt_misc (Debian's qemu-user-static registers one per
 * architecture). Without it the engines fail with a bare "exec format error"; this module says
 * instead which platform, which package and what to check.
 */
import { existsSync, readFileSync } from "node:fs";
import { platformString, type Platform } from "./platform.ts";

export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

/** The platform this process runs on, as an image platform. */
export function hostPlatform(arch: string = process.arch): Platform {
  switch (arch) {
    case "x64":
      return { os: "linux", architecture: "amd64" };
    case "ia32":
      return { os: "linux", architecture: "386" };
    case "arm64":
      return { os: "linux", architecture: "arm64" };
    case "arm":
      return { os: "linux", architecture: "arm", variant: "v7" };
    case "ppc64":
      return { os: "linux", architecture: "ppc64le" };
    default:
      return { os: "linux", architecture: arch };
  }
}

/** Architectures a CPU of `host` runs without an emulator. */
function nativeArchitectures(host: Platform): string[] {
  switch (host.architecture) {
    case "amd64":
      return ["amd64", "386"];
    case "arm64":
      return ["arm64", "arm"];
    default:
      return [host.architecture];
  }
}

/** The qemu-user binfmt handler that runs binaries of `architecture` (qemu's own names). */
export function qemuHandler(architecture: string): string {
  const names: Record<string, string> = {
    amd64: "x86_64",
    "386": "i386",
    arm64: "aarch64",
    arm: "arm",
    ppc64le: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
    mips64le: "mips64el",
    loong64: "loongarch64",
  };
  return `qemu-${names[architecture] ?? architecture}`;
}

export function isForeign(platform: Platform, host: Platform = hostPlatform()): boolean {
  return platform.os === "linux" && !nativeArchitectures(host).includes(platform.architecture);
}

/** Is a binfmt handler for `platform` registered and enabled? (Native platforms: always true.) */
export function canRun(platform: Platform, host: Platform = hostPlatform(), dir: string = BINFMT_DIR): boolean {
  if (!isForeign(platform, host)) return true;
  const file = `${dir}/${qemuHandler(platform.architecture)}`;
  if (!existsSync(file)) return false;
  try {
    return readFileSync(file, "utf8").split("\n")[0]?.trim() === "enabled";
  } catch {
    return false;
  }
}

/**
 * Why RUN steps for `platform` cannot run on this machine, with the fix; undefined when they
 * can (native, or an enabled qemu handler). One line, for errors and `flavor probe`.
 */
export function emulationProblem(platform: Platform, host: Platform = hostPlatform(), dir: string = BINFMT_DIR): string | undefined {
  if (canRun(platform, host, dir)) return undefined;
  const handler = qemuHandler(platform.architecture);
  const mounted = existsSync(`${dir}/register`);
  const why = mounted ? `no enabled ${handler} handler in ${dir}` : `${dir} is not mounted`;
  const fix = mounted
    ? `install qemu-user-static (Debian/Ubuntu: apt-get install qemu-user-static binfmt-support; then update-binfmts --enable ${handler}) and check that ${dir}/${handler} says "enabled"`
    : `mount it (mount -t binfmt_misc binfmt_misc ${dir}), install qemu-user-static (apt-get install qemu-user-static binfmt-support) and check that ${dir}/${handler} says "enabled"`;
  return `RUN steps for ${platformString(platform)} need an emulator on this ${platformString(host)} machine: ${why}; ${fix}`;
}

/** Does an engine's output show a binary of the wrong architecture being run? */
export function looksLikeExecFormatError(text: string): boolean {
  return /exec format error|exec user process caused: exec format error|cannot execute binary file/i.test(text);
}
