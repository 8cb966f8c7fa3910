/**
 * The checksum that decides whether an image must be built: everything that can change the
 * result, as canonical JSON, hashed. Dependencies enter through the resolved build args (their
 * digests); the Dockerfile and files through the context digest; the ignore file's effect is in
 * the file set, its text is added too; base images through their current IDs or digests.
 *
 * Machine-independent (the registry record of reuse.ts is shared by every machine): no absolute
 * path enters (context paths are relative, the ignore file by content), the flavor config only by
 * the keys its schema marks as output keys (src/builder/output_keys.ts; not `binary`, daemon
 * addresses, storage roots, config dirs), and the store location never.
 *
 * Left out on purpose: tags and `no_cache`. Tags are destinations, not inputs (a reused image is
 * re-tagged instead), so `tags: [latest, "${GIT_SHA}"]` reuses across commits; `no_cache` says
 * how to build, not what, and forces a build by itself (see run_build.ts).
 *
 * Registry cache refs (`cache_from`, `cache_to: [REF]`) are left out too: like tags they say
 * where cache is looked for or written, not what the image holds. `cache_to: [type=inline]`
 * enters (as `inline`), because it changes the image: its config carries the cache metadata, and
 * reusing an image built without it would leave the next machine's cache_from nothing to find.
 * Annotations enter: they are part of the pushed manifest. Empty ones are left out, so records
 * made before these keys existed keep matching.
 * Platforms enter as listed (the set and its order, which is the order of the index), and with
 * several platforms each platform's base digests (base_images.ts), not the bases' index digests.
 * Secrets and ssh forwards enter by id only, as in BuildKit's cache: not their values (which
 * must never be stored), nor where they come from. A new secret value does not rebuild; set
 * `no_cache` (or run with --no-reuse) when it should.
 */
import { readFileSync } from "node:fs";
import type { BuildOptions } from "../builder/build_options.ts";

export interface ChecksumInputs {
  contextDigest: string;
  /** Absolute path of the ignore file in use, if any. */
  ignoreFile?: string;
  /** Path of the Dockerfile inside the context (`buildContext.dockerfile`). */
  dockerfile: string;
  options: BuildOptions;
  flavor: string;
  flavorConfig: unknown;
  /** FROM references -> their image ID or digest now (null: unknown). */
  bases?: Record<string, string | null>;
  /**
   * Several platforms: platform -> FROM reference -> that platform's manifest digest (or image
   * ID; null: unknown), so a base's new arm64 image rebuilds even when its amd64 one is the same.
   */
  platformBases?: Record<string, Record<string, string | null>>;
  /** The repository it is pushed to (`uri/repo`, no tag), or undefined for a local build. */
  destination?: string;
  /** Named build contexts -> their files' digest or image (named_contexts.ts); absent when there are none. */
  namedContexts?: Record<string, string>;
  /** Bumped when the meaning of the checksum changes, so old records stop matching. */
  version?: number;
}

export const CHECKSUM_LABEL = "dev.imgb.checksum";

/**
 * 2: tags and no_cache left the checksum (records of version 1 included them).
 * 3: machine-independent: only the flavor's output keys of its config, bases by registry digest first.
 */
export const CHECKSUM_VERSION = 3;

export function imageChecksum(i: ChecksumInputs): string {
  const doc = {
    v: i.version ?? CHECKSUM_VERSION,
    context: i.contextDigest,
    ignore: i.ignoreFile ? sha256(readFileSync(i.ignoreFile)) : null,
    // The Dockerfile path kept its place of contract 1 (options.dockerfile): records stay valid.
    options: {
      ...i.options, dockerfile: i.dockerfile, tags: undefined, noCache: undefined, labels: withoutChecksumLabel(i.options.labels),
      ...cacheAndAnnotations(i.options),
      ...mountIds(i.options),
      // Their paths are this machine's: what they hold counts (below), not where it is.
      contexts: undefined,
    },
    flavor: i.flavor,
    config: i.flavorConfig,
    destination: i.destination ?? null,
    bases: i.bases ?? {},
    // Absent for one platform, so single-platform checksums stay what they were.
    platformBases: i.platformBases && Object.keys(i.platformBases).length > 0 ? i.platformBases : undefined,
    ...(i.namedContexts ? { contexts: i.namedContexts } : {}),
  };
  return `sha256:${sha256(canonical(doc))}`;
}

/** The checksum's view of the cache and annotation options (see the file comment). */
function cacheAndAnnotations(o: BuildOptions): Record<string, unknown> {
  const annotations = o.annotations ?? {};
  return {
    cacheFrom: undefined,
    cacheTo: (o.cacheTo ?? []).some((c) => c.type === "inline") ? "inline" : undefined,
    annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
  };
}

/** Only the ids of secrets and ssh forwards; absent when there are none, so older checksums stay. */
function mountIds(o: BuildOptions): { secrets?: string[]; ssh?: string[] } {
  return {
    secrets: o.secrets?.length ? o.secrets.map((s) => s.id) : undefined,
    ssh: o.ssh?.length ? o.ssh.map((s) => s.id) : undefined,
  };
}

function withoutChecksumLabel(labels: Readonly<Record<string, string>>): Record<string, string> {
  const { [CHECKSUM_LABEL]: _, ...rest } = labels;
  return rest;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function sha256(data: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}
