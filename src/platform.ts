/**
 * An image platform, `os/architecture[/variant]` (go-containerregistry's v1.Platform): what a
 * manifest in an index is for, and what a build targets.
 */
import { InputError } from "./errors.ts";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split("/");
  if (!os || !architecture) throw new InputError("oci.platform", `Invalid platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

const ARCH_ALIASES: Record<string, [arch: string, variant?: string]> = {
  x86_64: ["amd64"],
  "x86-64": ["amd64"],
  aarch64: ["arm64"],
  armhf: ["arm", "v7"],
  armel: ["arm", "v6"],
  i386: ["386"],
};

/**
 * A platform string as BuildKit writes it (containerd's `platforms.Normalize`): `linux/aarch64`
 * -> `linux/arm64`, `linux/arm64/v8` -> `linux/arm64`, `linux/arm` -> `linux/arm/v7`,
 * `linux/amd64/v1` -> `linux/amd64` (see flavors/_engine/platforms.ts for why the builders need it).
 */
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

/**
 * The tag one platform's manifest of a multi-platform image is pushed under before the index
 * that lists it (`<repo>:imgb-platform-<os>-<arch>[-<variant>]`): a push needs a tag, and the
 * user's tags get only the index, last. One per platform and repository, overwritten by the next
 * build (the index refers to the manifest by digest).
 */
export function platformHelperTag(p: Platform): string {
  return `imgb-platform-${p.os}-${p.architecture}${p.variant ? `-${p.variant}` : ""}`;
}
