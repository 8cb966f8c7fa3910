/**
 * The platform build args BuildKit defines for every build (TARGETPLATFORM, TARGETOS,
 * TARGETARCH, TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT), which the
 * classic builder leaves unset. imgb passes them as `--build-arg` to the classic builder so that
 * a Dockerfile's `ARG TARGETARCH` means the same with both builders. A build arg the stack sets
 * itself wins (as with BuildKit, where an explicit `--build-arg TARGETARCH=…` overrides).
 */
import { parsePlatform, platformString, type Platform } from "../../src/platform.ts";

/**
 * `target`: the platform built for (the image's platform, else the daemon's); `build`: the
 * daemon's own platform (BuildKit's BUILDPLATFORM is its worker's, not the client's).
 */
export function platformBuildArgs(target: Platform, build: Platform, userArgs: Readonly<Record<string, string>> = {}): Record<string, string> {
  const all: Record<string, string> = {
    TARGETPLATFORM: platformString(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? "",
    BUILDPLATFORM: platformString(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? "",
  };
  for (const key of Object.keys(userArgs)) delete all[key];
  return all;
}

/**
 * A platform as BuildKit normalises it (containerd's platforms.Normalize): `arm64/v8` is
 * `arm64`, a bare `arm` is `arm/v7`, `x86_64`/`aarch64` are amd64/arm64.
 */
export function normalizePlatform(text: string): Platform {
  const p = parsePlatform(text.toLowerCase());
  const arch = ({ x86_64: "amd64", x86: "386", i386: "386", aarch64: "arm64", armhf: "arm", armel: "arm" } as Record<string, string>)[p.architecture] ?? p.architecture;
  let variant = p.variant;
  if (arch === "arm64" && variant === "v8") variant = undefined;
  if (arch === "arm" && variant === undefined) variant = p.architecture === "armel" ? "v6" : "v7";
  if (arch === "amd64" && variant === "v1") variant = undefined;
  return variant ? { os: p.os, architecture: arch, variant } : { os: p.os, architecture: arch };
}

/** `os/arch[/variant]` of the daemon, from `docker version --format '{{.Server.Os}}/{{.Server.Arch}}'`. */
export function daemonPlatform(text: string): Platform {
  return normalizePlatform(text.trim());
}
