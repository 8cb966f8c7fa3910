/**
 * What the classic docker builder cannot build. Before any build (`imgb validate`, builder:
 * classic): RUN steps that need --mount (secrets, ssh). At build time, for `builder: auto` on a
 * docker CLI without buildx: the BuildKit-only parts of the Dockerfile itself (`# syntax=`,
 * RUN --mount/--network/--security, heredocs, COPY/ADD --link, --chmod, --parents, --exclude,
 * ADD --checksum/--keep-git-dir) and of the image's options (secrets, ssh, cache export).
 */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { StaticImage } from "../../src/builder/flavor.ts";
import { findEntry, type BuildContext } from "../../src/context/build_context.ts";
import { InputError } from "../../src/errors.ts";
import { readFileSync } from "node:fs";
import { dockerProblems } from "../_engine/pipeline_options.ts";

export function classicMountErrors(image: StaticImage): InputError[] {
  const out: InputError[] = [];
  for (const [key, what] of [["secrets", "build secrets"], ["ssh", "SSH forwarding"]] as const) {
    if (!image[key]?.length) continue;
    out.push(new InputError(`build.${key}-unsupported`, `The docker flavor with builder: classic cannot give RUN steps ${what} (image '${image.name}' sets '${key}'): the classic builder has no RUN --mount`, {
      location: { path: `/images/${image.name}/${key}` },
      hint: "use builder: buildkit, or the podman or buildah flavor",
    }));
  }
  return out;
}

/** Instruction flags only BuildKit's Dockerfile frontend knows (docker 20.10's classic builder refuses or ignores them). */
const BUILDKIT_FLAGS: Record<string, readonly string[]> = {
  RUN: ["mount", "network", "security"],
  COPY: ["link", "chmod", "parents", "exclude"],
  ADD: ["link", "chmod", "parents", "exclude", "checksum", "keep-git-dir"],
};

/**
 * The BuildKit-only parts of a Dockerfile, each as "what (line N)". A scan of the text, not a
 * parse: it must also see what imgb's own parser refuses (heredocs).
 */
export function buildkitOnlyFeatures(dockerfile: string): string[] {
  const lines = dockerfile.replace(/^\uFEFF/, "").split(/\r?\n/);
  const out: string[] = [];
  // Parser directives: the `# key=value` lines at the very top.
  for (let i = 0; i < lines.length; i++) {
    const d = lines[i]!.match(/^#\s*([a-zA-Z]+)\s*=/);
    if (!d) break;
    if (d[1]!.toLowerCase() === "syntax") out.push(`the '# syntax=' directive (line ${i + 1})`);
  }
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]!;
    if (/^\s*(#|$)/.test(text)) continue;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, " ") + lines[++i]!;
    const m = text.trim().match(/^(\w+)\s+(.*)$/s);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    let rest = m[2]!;
    for (;;) {
      const f = rest.match(/^--([a-z][a-z0-9-]*)(?:=\S*)?\s*/i);
      if (!f) break;
      if (BUILDKIT_FLAGS[keyword]?.includes(f[1]!.toLowerCase())) out.push(`${keyword} --${f[1]!.toLowerCase()} (line ${start + 1})`);
      rest = rest.slice(f[0].length);
    }
    if (keyword in BUILDKIT_FLAGS && /(^|\s)<<-?["']?[A-Za-z_]/.test(rest)) out.push(`a heredoc in ${keyword} (line ${start + 1})`);
  }
  return out;
}

/** What of an image's build options the classic builder cannot do. */
export function buildkitOnlyOptions(options: BuildOptions): string[] {
  const out: string[] = [];
  if (options.secrets?.length) out.push("build secrets (RUN --mount=type=secret)");
  if (options.ssh?.length) out.push("SSH forwarding (RUN --mount=type=ssh)");
  out.push(...dockerProblems("classic", options).map((p) => `${p.key}: ${p.message}`));
  return out;
}

/** The Dockerfile as the context sends it (an extra file or inline content may replace the one on disk). */
export async function contextDockerfile(context: BuildContext): Promise<string | undefined> {
  const entry = findEntry(await context.fileList(), context.dockerfile);
  return entry?.content ? new TextDecoder().decode(entry.content) : entry?.source ? readFileSync(entry.source, "utf8") : undefined;
}
