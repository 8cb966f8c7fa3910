/**
 * Platform strings as BuildKit writes them (containerd's `platforms.Normalize`): what a build is
 * asked for, what TARGETPLATFORM/TARGETARCH/TARGETVARIANT say, and what the index entry records.
 *
 * podman 4.3 and buildah 1.28 set the TARGET and BUILD args themselves from `--platform`, and
 * agree with BuildKit for normalized input (measured: `linux/arm` gives TARGETVARIANT=v7,
 * `linux/arm64` an empty TARGETVARIANT). They pass other spellings through: `linux/arm64/v8`
 * gives TARGETPLATFORM=linux/arm64/v8 and TARGETVARIANT=v8 where BuildKit says linux/arm64 and
 * "", and the index entry then carries variant v8. So the builders hand the engine the
 * normalized string.
 */

/** `linux/aarch64` -> `linux/arm64`, …: the one implementation lives in src/platform.ts (the orchestrator compares platforms too). */
export { normalizePlatform } from "../../src/platform.ts";
