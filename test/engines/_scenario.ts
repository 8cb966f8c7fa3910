/**
 * What every engine suite does, written once: a context fixture with a .dockerignore, a
 * multi-stage Dockerfile that COPYs and RUNs, a build with every option that must take effect,
 * and checks made from the outside (the registry's own digest, the image run by its digest,
 * labels read back by the engine).
 */
import { expect } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { BaseImageBuilder, BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions, type BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import type { Flavor } from "../../src/builder/flavor.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { exec } from "../../src/exec.ts";
import buildah from "../../flavors/buildah/flavor.ts";
import docker from "../../flavors/docker/flavor.ts";
import podman from "../../flavors/podman/flavor.ts";
import { BASE_IMAGE, manifestBytesDigest, REGISTRY, registryDigest, uniqueRepo } from "../helpers/testenv.ts";

export const flavors: Record<string, Flavor> = { docker, podman, buildah } as unknown as Record<string, Flavor>;

const DOCKERFILE = `FROM ${BASE_IMAGE} AS base
ARG GREETING=unset
COPY . /ctx/
RUN echo "$GREETING" > /greeting && find /ctx | sort > /listing
FROM base AS final
RUN echo final > /stage
FROM base AS other
RUN echo other > /stage
`;

/** Files in the fixture; `.dockerignore` drops the secrets and logs but re-includes one log. */
const FILES: Record<string, string> = {
  Dockerfile: DOCKERFILE,
  ".dockerignore": "# e2e fixture\nsecret.env\n**/*.log\n!app/keep.log\nlogs\n",
  "app/main.txt": "main file\n",
  "app/data/x.bin": "binary-ish \u0001\u0002\n",
  "app/keep.log": "kept despite *.log\n",
  "app/drop.log": "dropped\n",
  "docs/readme.md": "# readme\n",
  "logs/a.txt": "whole directory ignored\n",
  "secret.env": "TOKEN=never-in-an-image\n",
};

/** What `find /ctx | sort` prints in the image: written by hand, not derived from imgb's code. */
export function expectedListing(withIgnoreFile: boolean): string[] {
  return [
    "/ctx",
    ...(withIgnoreFile ? ["/ctx/.dockerignore"] : []),
    "/ctx/Dockerfile",
    "/ctx/app",
    "/ctx/app/data",
    "/ctx/app/data/x.bin",
    "/ctx/app/keep.log",
    "/ctx/app/main.txt",
    "/ctx/docs",
    "/ctx/docs/readme.md",
  ];
}

export function makeFixture(files: Record<string, string> = FILES): string {
  const root = mkdtempSync(join(tmpdir(), "imgb-e2e-"));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

export function removeFixture(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export interface Outcome {
  ref: string;
  report: BuildReport;
  logs: string[];
}

export async function newBuilder(flavorName: string, config: Record<string, unknown>, logs: string[], report: BuildReport, signal?: AbortSignal): Promise<BaseImageBuilder> {
  const flavor = flavors[flavorName]!;
  const Builder = await flavor.implementation();
  const env = { log: (l: string) => logs.push(l), signal: signal ?? new AbortController().signal, report: (r: BuildReport) => Object.assign(report, r) };
  return new Builder(config as never, env);
}

export async function build(
  flavorName: string,
  config: Record<string, unknown>,
  root: string,
  imageName: string,
  options: Partial<BuildOptions>,
  registry?: ContainerRegistry,
  dockerfile?: string,
): Promise<Outcome> {
  const logs: string[] = [];
  const report: BuildReport = {};
  const builder = await newBuilder(flavorName, config, logs, report);
  const context = new (builder.buildContextClass ?? BuildContext)({ root, dockerfile });
  const ref = await builder.build(imageName, context, defaultBuildOptions({ network: "none", ...options }), registry);
  return { ref, report, logs };
}

/** How to run the built image and read its labels, per engine family. */
export interface EngineCli {
  run(ref: string, script: string): Promise<string>;
  labels(imageId: string): Promise<Record<string, string>>;
  /** Forget local copies so that running by digest must pull from the registry. */
  forget(refs: string[]): Promise<void>;
}

/**
 * `podman run` flags for this sandbox: pull by digest from the plain-HTTP registry, and rlimits
 * within the hard limits (podman's defaults, nofile/nproc above them, make runc fail with
 * "error setting rlimit type 7: operation not permitted"; builds are not affected).
 */
export const PODMAN_RUN_FLAGS = ["--tls-verify=false", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

export function engineCli(prefix: string[], runFlags: string[]): EngineCli {
  return {
    run: async (ref, script) => (await exec([...prefix, "run", "--rm", "--network=none", ...runFlags, ref, "sh", "-c", script])).stdout,
    labels: async (id) => JSON.parse((await exec([...prefix, "image", "inspect", "--format", "{{json .Config.Labels}}", id])).stdout) ?? {},
    forget: async (refs) => {
      for (const r of refs) await exec([...prefix, "rmi", r]).catch(() => {});
    },
  };
}

/**
 * The full round trip: build with build args, a target, a label and two tags, push, compare the
 * returned digest with the registry's, then run the image by that digest.
 */
export async function roundTrip(flavorName: string, config: Record<string, unknown>, cli: EngineCli, withIgnoreFile: boolean): Promise<void> {
  const root = makeFixture();
  const repoName = uniqueRepo(flavorName);
  const label = `e2e-${Date.now()}`;
  try {
    const { ref, report, logs } = await build(
      flavorName,
      config,
      root,
      repoName,
      { buildArgs: { GREETING: "hello from imgb" }, target: "final", labels: { "org.imgb.e2e": label }, tags: ["extra"] },
      { uri: REGISTRY, insecure: true },
    );
    const repo = `${REGISTRY}/${repoName}`;
    expect(ref).toMatch(new RegExp(`^${repo.replaceAll(".", "\\.")}@sha256:[0-9a-f]{64}$`));
    const digest = ref.slice(repo.length + 1);
    expect(report.digest).toBe(digest);
    expect(report.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The registry's word, twice: the digest the tags point at, and the hash of the bytes served.
    expect(await registryDigest(REGISTRY, repoName, "latest")).toBe(digest);
    expect(await registryDigest(REGISTRY, repoName, "extra")).toBe(digest);
    expect(await manifestBytesDigest(REGISTRY, repoName, digest)).toBe(digest);
    expect(logs.length).toBeGreaterThan(0);

    expect(await cli.labels(report.imageId!)).toMatchObject({ "org.imgb.e2e": label });
    await cli.forget([`${repo}:latest`, `${repo}:extra`]);
    const out = await cli.run(ref, "cat /greeting /stage; echo ---; cat /listing; echo ---; cat /ctx/app/main.txt /ctx/app/keep.log");
    const [head, listing, contents] = out.split("---\n");
    expect(head).toBe("hello from imgb\nfinal\n");
    expect(listing!.trim().split("\n")).toEqual(expectedListing(withIgnoreFile));
    expect(contents).toBe("main file\nkept despite *.log"); // exec() trims one final newline
  } finally {
    removeFixture(root);
  }
}
