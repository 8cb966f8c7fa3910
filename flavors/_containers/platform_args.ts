/**
 * BuildKit's automatic platform args (TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT and
 * the BUILD… four) for a podman/buildah build with an explicit platform.
 *
 * podman 4.3 / buildah 1.28 set them all themselves with BuildKit's values once the platform is
 * normalized (../_engine/platforms.ts), but for a Dockerfile that declares `ARG TARGETVARIANT`
 * or `ARG BUILDPLATFORM` they also warn `missing "TARGETVARIANT" build argument` on every build
 * (measured), a warning BuildKit never gives. So the args the Dockerfile declares and the stack
 * does not set are passed explicitly, with BuildKit's values; undeclared ones are not (the engine
 * would warn that they were not consumed). The BUILD… args only for an engine on this machine:
 * a podman service elsewhere knows its own platform, imgb does not.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { argDeclarations } from "../../src/dockerfile/stages.ts";
import { parsePlatform, platformString, type Platform } from "../../src/platform.ts";
import { normalizePlatform } from "../_engine/platforms.ts";

const TARGET_ARGS = ["TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"];
const BUILD_ARGS = ["BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"];

/** The automatic platform args `<contextDir>/<dockerfile>` declares (none when imgb cannot read it). */
export function declaredPlatformArgs(contextDir: string, dockerfile: string): string[] {
  try {
    const df = parseDockerfile(readFileSync(join(contextDir, dockerfile), "utf8"), dockerfile);
    const names = new Set(df.instructions.filter((i) => i.keyword === "ARG").flatMap((i) => argDeclarations(df, i).map(([name]) => name)));
    return [...TARGET_ARGS, ...BUILD_ARGS].filter((n) => names.has(n));
  } catch {
    return [];
  }
}

/** The four args of `prefix` for `p`, normalized first (linux/arm64/v8: TARGETVARIANT ""). */
function values(prefix: "TARGET" | "BUILD", given: Platform): Record<string, string> {
  const p = parsePlatform(normalizePlatform(platformString(given)));
  return { [`${prefix}PLATFORM`]: platformString(p), [`${prefix}OS`]: p.os, [`${prefix}ARCH`]: p.architecture, [`${prefix}VARIANT`]: p.variant ?? "" };
}

/**
 * `buildArgs` plus the declared automatic args for `platform` (built on `build`, when known),
 * the stack's own values first.
 */
export function withPlatformArgs(buildArgs: Readonly<Record<string, string>>, declared: readonly string[], platform: string, build?: Platform): Record<string, string> {
  const all = { ...values("TARGET", parsePlatform(platform)), ...(build ? values("BUILD", build) : {}) };
  const out: Record<string, string> = { ...buildArgs };
  for (const name of declared) if (!(name in out) && name in all) out[name] = all[name]!;
  return out;
}
