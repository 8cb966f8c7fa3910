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

const ARCH_ALIASES: Record<string, [arch: string, variant?: string]> = {
  x86_64: ["amd64"],
  "x86-64": ["amd64"],
  aarch64: ["arm64"],
  armhf: ["arm", "v7"],
  armel: ["arm", "v6"],
  i386: ["386"],
};

/** `linux/aarch64` -> `linux/arm64`, `linux/arm64/v8` -> `linux/arm64`, `linux/arm` -> `linux/arm/v7`, `linux/amd64/v1` -> `linux/amd64`. */
export function normalizePlatform(text: string): string {
  const [rawOs, rawArch, rawVariant] = text.split("/");
  if (!rawOs || !rawArch) return text; // not a platform: the engine says what is wrong with it
  const os = rawOs.toLowerCase();
  const alias = ARCH_ALIASES[rawArch.toLowerCase()];
  const arch = alias?.[0] ?? rawArch.toLowerCase();
  let variant = (rawVariant ?? alias?.[1] ?? "").toLowerCase();
  if (arch === "arm64" && (variant === "v8" || variant === "8")) variant = "";
  if (arch === "amd64" && variant === "v1") variant = "";
  if (arch === "arm") variant = variant === "" ? "v7" : /^\d+$/.test(variant) ? `v${variant}` : variant;
  return variant ? `${os}/${arch}/${variant}` : `${os}/${arch}`;
}
