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
