/**
 * `builder: auto` (the default): BuildKit when the docker CLI can run it, else the classic
 * builder. Since docker 23 the CLI's BuildKit path is the buildx plugin, so a CLI >= 23 without
 * it (`docker buildx version` fails; `DOCKER_BUILDKIT=1 docker build` says "BuildKit is enabled
 * but the buildx component is missing") builds with the classic builder when the image needs
 * nothing BuildKit-only, and refuses, naming what, when it does. How to get BuildKit back is
 * said once per run and CLI (the first image's log), not once per image.
 */
import type { Static } from "@sinclair/typebox";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import { RuntimeError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";
import { buildkitOnlyFeatures, buildkitOnlyOptions, contextDockerfile } from "./classic_check.ts";
import type { DockerConfig } from "./flavor.ts";

type Config = Static<typeof DockerConfig>;

export const BUILDX_FIX =
  "install the buildx plugin (docker-buildx-plugin from Docker's apt repository, docker-buildx on Debian/Ubuntu), or point the flavor's `binary:` at a docker CLI that has BuildKit (one with buildx, or one older than 23 such as Debian's docker.io 20.10 at /usr/bin/docker)";

export interface BuildkitSupport {
  available: boolean;
  /** The CLI's version, e.g. `28.2.2`. */
  client: string;
}

const support = new Map<string, Promise<BuildkitSupport>>();
const told = new Set<string>();

/** Whether `binary` can run BuildKit builds: a CLI < 23 has it built in, a newer one needs buildx. Asked once per CLI. */
export function buildkitSupport(binary: string, env: Record<string, string | undefined>): Promise<BuildkitSupport> {
  let known = support.get(binary);
  if (!known) {
    known = (async () => {
      // `docker --version` needs no daemon: "Docker version 28.2.2, build e6534b4".
      const client = clients.get(binary) ?? (await exec([binary, "--version"], { env })).stdout.match(/version (\d+[\w.+~-]*)/i)?.[1] ?? "unknown";
      if (Number(client.split(".")[0]) < 23) return { available: true, client };
      const buildx = await exec([binary, "buildx", "version"], { env }).then(() => true, () => false);
      return { available: buildx, client };
    })();
    support.set(binary, known);
  }
  return known;
}

const clients = new Map<string, string>();

/**
 * The client version of `binary` as the engine probe read it (`docker version`, probeDocker):
 * the first build then needs no `docker --version` of its own (one CLI start less per run).
 */
export function knownClientVersion(binary: string, client: string): void {
  if (/^\d+\./.test(client)) clients.set(binary, client);
}

/**
 * The builder this image is built with: the configured one, or for `auto` BuildKit when the CLI
 * has it, else classic (noted once through `log`), else — when the image needs BuildKit — an
 * error that says what needs it and how to get BuildKit.
 */
export async function chooseBuilder(
  config: Config,
  image: string,
  context: BuildContext,
  options: BuildOptions,
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<"buildkit" | "classic"> {
  if (config.builder !== "auto") return config.builder;
  const { available, client } = await buildkitSupport(config.binary, env);
  if (available) return "buildkit";
  const dockerfile = await contextDockerfile(context).catch(() => undefined);
  const needs = [...(dockerfile === undefined ? [] : buildkitOnlyFeatures(dockerfile)), ...buildkitOnlyOptions(options)];
  const cli = `the docker CLI ${config.binary} (${client}) has no buildx plugin, so no BuildKit`;
  if (needs.length > 0) {
    throw new RuntimeError("build.buildkit-unavailable", `Image ${image} needs BuildKit, and ${cli}: ${needs.join(", ")}`, { hint: BUILDX_FIX });
  }
  if (!told.has(config.binary)) {
    told.add(config.binary);
    log(`note: ${cli}: building with the classic builder (builder: auto; this Dockerfile needs nothing BuildKit-only). For BuildKit, ${BUILDX_FIX}`);
  }
  return "classic";
}
