/**
 * The version baked into the binary. `scripts/build.ts` defines IMGB_VERSION and IMGB_COMMIT at
 * compile time (from package.json and git); running from source falls back to package.json.
 */
import pkg from "../package.json" with { type: "json" };

declare const IMGB_VERSION: string | undefined;
declare const IMGB_COMMIT: string | undefined;

export interface VersionInfo {
  version: string;
  commit: string;
  bun: string;
  platform: string;
}

export function versionInfo(): VersionInfo {
  return {
    version: typeof IMGB_VERSION === "string" ? IMGB_VERSION : pkg.version,
    commit: typeof IMGB_COMMIT === "string" ? IMGB_COMMIT : "source",
    bun: Bun.version,
    platform: `${process.platform}/${process.arch}`,
  };
}
