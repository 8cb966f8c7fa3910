/**
 * Stages on another platform than the image's, pinned to their platform's manifest by digest.
 *
 * containers-storage holds one image per name, and podman 4.3 / buildah 1.28 resolve a stage's
 * base by name: in a build for linux/arm64 whose builder stage is `FROM --platform=$BUILDPLATFORM
 * base` (BuildKit's cross-compilation pattern), the builder stage pulls base for linux/amd64 under
 * the name `base`, and the target stage `FROM base` then takes that same local image. Measured
 * here with both engines: the linux/arm64 image's config said arm64, its /bin/busybox was an
 * x86-64 binary (ELF e_machine 0x3e) — a wrong image, with nothing but a warning on a later
 * `podman create`. The after-build platform checks cannot see it: the config is right.
 *
 * So for each platform's build, every stage the target needs whose base is a registry image on
 * a platform other than the target's (an explicit `FROM --platform=…`, `$BUILDPLATFORM` with this
 * machine's platform) — and, for the platforms of a multi-platform build, which run at once,
 * every stage on a registry image — is rewritten to `repo@sha256:<that platform's manifest>`, resolved from the
 * registry (the index entry for the platform; a single manifest as it is). A digest names one
 * image for one platform: that stage's pull no longer moves the name the target stage resolves,
 * and two platforms building at once no longer move it under each other. The stage's
 * `--platform=…` flag is dropped: with it, buildah 1.28 also pulls the OTHER stages' bases for
 * that platform (measured: `FROM --platform=linux/amd64 base@sha256:<amd64>` + `FROM base` for
 * linux/arm64 still gave an x86-64 busybox; without the flag an aarch64 one). The engine then
 * warns "image platform (amd64) does not match the expected platform (arm64)" for that stage:
 * expected, the log line that announces the pin says so. The rewritten
 * Dockerfile is a copy in the build's temp directory with only those FROM words replaced, line
 * for line (an engine's error still points at the user's line). Stages on the target platform
 * keep the name (and the engine's own pull policy). A base imgb cannot resolve (only local, a
 * registry it cannot reach) stays as written, and the log says so.
 */
import { writeFileSync } from "node:fs";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { planBuild } from "../../src/dockerfile/stages.ts";
import { MediaType, sha256, type ImageIndex } from "../../src/image/image.ts";
import { parseReference, referenceTarget } from "../../src/image/name.ts";
import { platformMatches } from "../../src/image/remote/fetch_image.ts";
import type { Registries } from "../../src/image/remote/registries.ts";
import { parsePlatform, platformString, type Platform } from "../../src/platform.ts";
import { normalizePlatform } from "../_engine/platforms.ts";

/** A stage to pin: the FROM line (1-based), the word as written, the image and its platform. */
export interface ForeignStage {
  line: number;
  word: string;
  ref: string;
  platform: string;
  /** On another platform than the image's (else: on the image's, pinned because several platforms build at once). */
  foreign: boolean;
}

/**
 * The stages the target needs whose base is an image on another platform than `target`
 * (`build` is the platform `$BUILDPLATFORM` names, undefined when unknown); with `all`, every stage whose base is an
 * image (a platform of a multi-platform build: the platforms' builds run at once and would
 * move one name under each other). Pure.
 */
export function foreignStages(text: string, file: string, buildArgs: Readonly<Record<string, string>>, target: Platform, build: Platform | undefined, targetStage?: string, all = false): ForeignStage[] {
  const df = parseDockerfile(text, file);
  const plan = planBuild(df, buildArgs, target, targetStage, build);
  const want = normalizePlatform(platformString(target));
  const out: ForeignStage[] = [];
  for (const i of plan.order) {
    const stage = plan.stages[i]!;
    if (stage.base.kind !== "image") continue;
    // The build platform unknown (a remote engine that did not say): a stage on it stays as written.
    if (build === undefined && /\$\{?BUILD/.test(stage.from.flags.platform ?? "")) continue;
    const platform = stage.base.platform === undefined ? want : normalizePlatform(stage.base.platform);
    const foreign = platform !== want;
    if (!foreign && !all) continue;
    const word = stage.from.args.split(/\s+/).find((w) => w !== "")!;
    out.push({ line: stage.from.line, word, ref: stage.base.ref, platform, foreign });
  }
  return out;
}

/** `ref` for `platform`, by digest: `host/repo@sha256:…` of the platform's manifest. */
export async function pinnedReference(registries: Registries, ref: string, platform: string): Promise<string> {
  const parsed = parseReference(ref);
  const client = registries.client(parsed.host);
  const { bytes, mediaType } = await client.manifestGet(parsed.repository, referenceTarget(parsed));
  const doc = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ImageIndex> & { mediaType?: string };
  const type = mediaType || doc.mediaType || "";
  let digest = sha256(bytes);
  if (type === MediaType.ociIndex || type === MediaType.dockerList || Array.isArray(doc.manifests)) {
    const want = parsePlatform(platform);
    const entry = (doc.manifests ?? []).find((m) => platformMatches(m.platform, want));
    if (!entry) throw new Error(`${ref} has no ${platform} image (its index lists ${(doc.manifests ?? []).map((m) => (m.platform ? platformString(m.platform) : "?")).join(", ") || "nothing"})`);
    digest = entry.digest;
  }
  return `${parsed.host}/${parsed.repository}@${digest}`;
}

/**
 * `text` with each stage's FROM word replaced by its pinned reference, on the same line; a FROM
 * whose word is not on its first line (a continuation) is left as written. Pure.
 */
export function pinDockerfile(text: string, pins: readonly (ForeignStage & { pinned: string })[]): { text: string; pinned: (ForeignStage & { pinned: string })[] } {
  const lines = text.split("\n");
  const done: (ForeignStage & { pinned: string })[] = [];
  for (const pin of pins) {
    const line = lines[pin.line - 1];
    if (line === undefined) continue;
    // After the FROM keyword and its flags: the first word that is the image word as written.
    // The `--platform` flag goes (see the file comment): the digest names that platform's image.
    const m = /^(\s*from\s+)((?:--\S+\s+)*)(\S+)/i.exec(line);
    if (!m || m[3] !== pin.word) continue;
    const flags = m[2]!.split(/\s+/).filter((f) => f !== "" && !/^--platform=/i.test(f));
    lines[pin.line - 1] = m[1]! + flags.map((f) => `${f} `).join("") + pin.pinned + line.slice(m[0].length);
    done.push(pin);
  }
  return { text: lines.join("\n"), pinned: done };
}

/** A Dockerfile copy with pinned stages: where it is, and what was pinned. */
export interface PinnedDockerfile {
  path: string;
  pinned: { ref: string; platform: string; foreign: boolean; pinned: string }[];
}

/**
 * For one platform's build: a copy of the Dockerfile with the foreign-platform stages pinned,
 * written to `path`, or undefined when no stage needs it (or none could be pinned).
 */
export async function pinForeignStages(opts: {
  text: string;
  file: string;
  buildArgs: Readonly<Record<string, string>>;
  target: Platform;
  build?: Platform;
  targetStage?: string;
  /** Pin the stages on the image's platform too (a platform of a multi-platform build). */
  all?: boolean;
  registries: Registries;
  path: string;
  log(line: string): void;
}): Promise<PinnedDockerfile | undefined> {
  let stages: ForeignStage[];
  try {
    stages = foreignStages(opts.text, opts.file, opts.buildArgs, opts.target, opts.build, opts.targetStage, opts.all);
  } catch {
    return undefined; // a Dockerfile imgb cannot read: the engine reports it
  }
  if (stages.length === 0) return undefined;
  const resolved = await Promise.all(
    stages.map(async (s) => {
      try {
        return { ...s, pinned: await pinnedReference(opts.registries, s.ref, s.platform) };
      } catch (e) {
        // A stage on the image's own platform is as safe as written when it is alone (a local image, say).
        if (s.foreign) opts.log(`warning: ${opts.file}:${s.line}: FROM ${s.ref} for ${s.platform} could not be resolved in its registry (${(e as Error).message.split("\n")[0]}): left as written, so the engine may take the local image of that name whatever its platform`);
        return undefined;
      }
    }),
  );
  const { text, pinned } = pinDockerfile(opts.text, resolved.filter((r) => r !== undefined));
  if (pinned.length === 0) return undefined;
  for (const p of pinned.filter((x) => x.foreign)) opts.log(`${opts.file}:${p.line}: FROM ${p.ref} for ${p.platform} pinned to ${p.pinned}, another platform than the image's (the engine's "image platform … does not match the expected platform" warning for it is expected; README: "Stages on another platform")`);
  writeFileSync(opts.path, text);
  return { path: opts.path, pinned: pinned.map((p) => ({ ref: p.ref, platform: p.platform, foreign: p.foreign, pinned: p.pinned })) };
}

