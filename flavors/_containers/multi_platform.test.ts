/**
 * The multi-platform flow of the podman/buildah builders against a scripted engine: which
 * commands run in which order, with which argv, and what is cleaned up when a platform fails.
 * The real engines and registry are exercised in test/engines/multi_platform_containers.e2e.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { ExecError, type ExecOptions } from "../../src/exec.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { buildahBuildArgv } from "../buildah/builder.ts";
import { podmanBuildArgv } from "../podman/builder.ts";
import { explainFailure } from "../_engine/failure.ts";
import { normalizePlatform } from "../_engine/platforms.ts";
import { buildWithContainersTools, type ContainersEngine } from "./build.ts";
import { emulationError, runsOnTarget } from "./emulation_check.ts";
import { indexPlatforms } from "./manifest_list.ts";
import { distinctPlatforms } from "./multi_platform.ts";
import { declaredPlatformArgs, withPlatformArgs } from "./platform_args.ts";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";

afterAll(cleanupTempDirs);

const LIST_JSON = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
  manifests: [
    { mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1, digest: `sha256:${"1".repeat(64)}`, platform: { architecture: "amd64", os: "linux" } },
    { mediaType: "application/vnd.oci.image.manifest.v1+json", size: 1, digest: `sha256:${"2".repeat(64)}`, platform: { architecture: "arm64", os: "linux" } },
  ],
});

/** A buildah-like engine that records argv; `fail(argv)` makes a call fail with engine output. */
function scriptedEngine(fail: (argv: string[]) => string[] | undefined = () => undefined) {
  const calls: string[][] = [];
  const reports: BuildReport[] = [];
  const logs: string[] = [];
  const engine: ContainersEngine = {
    name: "buildah",
    format: "auto",
    prefix: ["buildah"],
    where: { engine: "buildah" },
    digestFile: true,
    explicitDestination: true,
    runsHere: true,
    signal: new AbortController().signal,
    localImageId: async (ref) => (calls.some((c) => c.includes("rmi")) ? undefined : ref === "app:latest" ? `sha256:${"e".repeat(64)}` : undefined),
    untagArgv: (name) => ["buildah", "rmi", name],
    report: (r) => reports.push(r),
    log: (l) => logs.push(l),
    buildArgv: (dir, dockerfile, refs, o, iidfile, extras) => buildahBuildArgv({ binary: "buildah", layers: true, format: "auto" }, dir, dockerfile, refs, o, iidfile, extras),
    run: async (argv: string[], _o?: ExecOptions) => {
      calls.push(argv);
      const digestfile = argv.indexOf("--digestfile");
      if (digestfile > 0) writeFileSync(argv[digestfile + 1]!, `sha256:${"d".repeat(64)}`);
      const output = fail(argv);
      if (output) throw new ExecError({ argv, exitCode: 1, durationMs: 1, tail: output });
      return { stdout: argv[1] === "manifest" && argv[2] === "inspect" ? LIST_JSON : "", stderr: "", tail: [], durationMs: 1 };
    },
  };
  return { engine, calls, reports, logs };
}

/** No RUN: the emulator check (tested on its own below) does not depend on this machine's binfmt_misc. */
function context(dockerfile = "FROM base\nARG TARGETARCH\nCOPY Dockerfile /\n"): BuildContext {
  const root = tempDir();
  writeTree(root, { Dockerfile: dockerfile });
  return new BuildContext({ root });
}

/** The argv without the temporary paths that differ per run. */
function shape(argv: string[]): string[] {
  return argv.map((a) => (a.includes("/imgb-") ? "<tmp>" : a));
}

describe("multi-platform builds (podman, buildah)", () => {
  test("argv: one platform gives --platform (normalized) and tags as before; a list build gives --manifest and no tags", () => {
    const config = { binary: "podman", layers: true, format: "auto" } as const;
    expect(podmanBuildArgv(config, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions({ platforms: ["linux/amd64"] }), "/i")).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--platform", "linux/amd64", "--layers=true", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
    expect(podmanBuildArgv(config, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions(), "/i")).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--layers=true", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
    const o = defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] });
    expect(podmanBuildArgv(config, "/ctx", "Dockerfile", [], o, "/i1", { platform: "linux/arm64/v8", manifest: "a:latest", format: "docker" })).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--platform", "linux/arm64", "--layers=true", "--format", "docker", "--iidfile", "/i1", "--manifest", "a:latest", "/ctx"],
    );
    expect(() => podmanBuildArgv(config, "/ctx", "Dockerfile", [], o, "/i")).toThrow("without the platform to build");
  });

  test("platforms are normalized as BuildKit writes them; two spellings of one platform are refused", () => {
    expect(["linux/arm64/v8", "linux/aarch64", "linux/x86_64", "linux/amd64/v1", "linux/arm", "linux/arm/7", "linux/arm/v6", "linux/amd64/v3", "linux/s390x"].map(normalizePlatform)).toEqual(
      ["linux/arm64", "linux/arm64", "linux/amd64", "linux/amd64", "linux/arm/v7", "linux/arm/v7", "linux/arm/v6", "linux/amd64/v3", "linux/s390x"],
    );
    expect(distinctPlatforms(["linux/amd64", "linux/arm64/v8"])).toEqual(["linux/amd64", "linux/arm64"]);
    expect(() => distinctPlatforms(["linux/arm64", "linux/arm64/v8"])).toThrow("Platforms 'linux/arm64' and 'linux/arm64/v8' are the same platform (linux/arm64)");
  });

  test("no registry: the name is freed, each platform built into the list, other tags point at the list, the log says what exists", async () => {
    const { engine, calls, reports, logs } = scriptedEngine();
    const ref = await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"], tags: ["v1"] }));
    expect(ref).toBe("app:latest");
    expect(calls.map(shape)).toEqual([
      ["buildah", "manifest", "rm", "app:latest"],
      ["buildah", "rmi", "app:latest"], // an earlier single-platform image of that name loses the name
      ["buildah", "bud", "-f", "<tmp>", "--build-arg", "TARGETARCH=amd64", "--platform", "linux/amd64", "--layers=true", "--force-rm", "--format", "oci", "--iidfile", "<tmp>", "--manifest", "app:latest", "<tmp>"],
      ["buildah", "bud", "-f", "<tmp>", "--build-arg", "TARGETARCH=arm64", "--platform", "linux/arm64", "--layers=true", "--force-rm", "--format", "oci", "--iidfile", "<tmp>", "--manifest", "app:latest", "<tmp>"],
      ["buildah", "manifest", "inspect", "app:latest"], // every platform is in the list
      ["buildah", "tag", "app:latest", "app:v1"],
      ["buildah", "manifest", "inspect", "app:latest"],
    ]);
    expect(reports).toEqual([{ platforms: { "linux/amd64": `sha256:${"1".repeat(64)}`, "linux/arm64": `sha256:${"2".repeat(64)}` } }]);
    expect(logs).toEqual(["Built linux/amd64, linux/arm64 into the local manifest list 'app:latest' (nothing pushed: the stack has no container_registry); see it with: buildah manifest inspect app:latest"]);
  });

  test("a failing platform is named, nothing is pushed, and the local list is removed", async () => {
    const failArm = (argv: string[]) => (argv.includes("bud") && argv.includes("linux/arm64") ? ['Error: building at STEP "RUN [ "$(uname -m)" = x86_64 ]": while running runtime: exit status 1'] : undefined);
    const { engine, calls } = scriptedEngine(failArm);
    const registry = { uri: "127.0.0.1:5000", insecure: true };
    const e = await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), registry).catch((x: unknown) => x as ExecError);
    expect(e).toBeInstanceOf(ExecError);
    expect((e as ExecError).code).toBe("build.step-failed");
    expect((e as ExecError).message).toStartWith(`Build of image 'app' for linux/arm64 failed: a build step (RUN [ "$(uname -m)" = x86_64 ]) exited with code 1`);
    expect(calls.some((c) => c.includes("push"))).toBe(false);
    expect(calls.at(-1)).toEqual(["buildah", "manifest", "rm", "127.0.0.1:5000/app:latest"]);
    expect(calls.filter((c) => c.includes("bud")).length).toBe(2);
  });

  test("with a registry: the list is pushed with --all to every tag, in the format the images were built in", async () => {
    // The push succeeds in the script, the index read from the registry then fails: the argv is what is checked.
    const { engine, calls } = scriptedEngine();
    const registry = { uri: "127.0.0.1:1", insecure: true };
    const root = tempDir();
    writeTree(root, { Dockerfile: "FROM base\nHEALTHCHECK CMD true\n" });
    await buildWithContainersTools(engine, "app", new BuildContext({ root }), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"], tags: ["v1"] }), registry).catch(() => undefined);
    const pushes = calls.filter((c) => c[2] === "push").map(shape);
    expect(pushes).toEqual([
      ["buildah", "manifest", "push", "--all", "--format", "v2s2", "--tls-verify=false", "--digestfile", "<tmp>", "127.0.0.1:1/app:latest", "docker://127.0.0.1:1/app:latest"],
      ["buildah", "manifest", "push", "--all", "--format", "v2s2", "--tls-verify=false", "--digestfile", "<tmp>", "127.0.0.1:1/app:latest", "docker://127.0.0.1:1/app:v1"],
    ]);
    expect(calls.filter((c) => c.includes("bud")).every((c) => c.includes("--format") && c[c.indexOf("--format") + 1] === "docker")).toBe(true);
  });

  test("FROM scratch: no platform reads the layer cache (the engine's cache ignores the platform); a platform missing from the list is an error and the list is removed", async () => {
    const { engine, calls, logs } = scriptedEngine();
    const e = await buildWithContainersTools(engine, "app", context("FROM scratch\nCOPY Dockerfile /\n"), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm/v7"] })).catch((x: unknown) => x as Error);
    const builds = calls.filter((c) => c.includes("bud"));
    expect(builds.length).toBe(2);
    expect(builds.every((c) => c.includes("--no-cache"))).toBe(true);
    expect(logs[0]).toStartWith("A stage starts FROM scratch: building each platform without reading the layer cache");
    // The scripted list holds amd64 and arm64: linux/arm/v7 is missing.
    expect((e as { code?: string }).code).toBe("build.platform-missing");
    expect((e as Error).message).toBe("Build of image 'app' made no linux/arm/v7 image: the manifest list holds linux/amd64, linux/arm64, so buildah built the same image for two platforms");
    expect(calls.at(-1)).toEqual(["buildah", "manifest", "rm", "app:latest"]);
  });

  test("platform args: the declared ones the stack does not set, with BuildKit's values (no TARGETVARIANT for arm64); BUILD… only when the build platform is known", () => {
    const root = tempDir();
    writeTree(root, { Dockerfile: "ARG BUILDPLATFORM\nFROM base\nARG TARGETVARIANT TARGETARCH=x TARGETOS\nARG OTHER\nRUN true\n" });
    const declared = declaredPlatformArgs(root, "Dockerfile");
    expect(declared).toEqual(["TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM"]);
    const host = { os: "linux", architecture: "amd64" };
    expect(withPlatformArgs({ OTHER: "1", TARGETOS: "mine" }, declared, "linux/arm64/v8", host)).toEqual({ OTHER: "1", TARGETOS: "mine", TARGETARCH: "arm64", TARGETVARIANT: "", BUILDPLATFORM: "linux/amd64" });
    expect(withPlatformArgs({}, declared, "linux/arm", undefined)).toEqual({ TARGETOS: "linux", TARGETARCH: "arm", TARGETVARIANT: "v7" });
    expect(declaredPlatformArgs(root, "missing")).toEqual([]);
  });

  test("index entries: platform with variant -> digest", () => {
    expect(indexPlatforms({ manifests: [{ digest: "sha256:a", platform: { os: "linux", architecture: "arm", variant: "v7" } }, { digest: "sha256:b", platform: { os: "linux", architecture: "amd64" } }, { digest: "sha256:c" }] })).toEqual({
      "linux/arm/v7": "sha256:a",
      "linux/amd64": "sha256:b",
    });
  });

  test("exec format error: the platform, the package and what to check instead of the raw message", () => {
    const e = new ExecError({ argv: ["podman", "build"], exitCode: 1, durationMs: 1, tail: ["exec /bin/sh: exec format error", 'Error: building at STEP "RUN true": while running runtime: exit status 1'] });
    const out = explainFailure(e, "build", "image 'app' for linux/s390x", { platform: "linux/s390x" }) as ExecError;
    expect(out.code).toBe("build.exec-format");
    expect(out.message).toStartWith("Build of image 'app' for linux/s390x failed: a RUN step could not start its program (exec format error): RUN steps for linux/s390x need an emulator on this");
    expect(out.message).toContain("qemu-s390x");
    expect(out.message).toContain("apt-get install qemu-user-static");
    const native = explainFailure(e, "build", "image 'app' for linux/amd64", { platform: "linux/amd64" }) as ExecError;
    expect(native.message).toStartWith("Build of image 'app' for linux/amd64 failed: a RUN step could not start its program (exec format error): the program is not built for linux/amd64, which this machine runs natively");
    const remote = explainFailure(e, "build", "image 'app' for linux/s390x", { platform: "linux/s390x", emulatorsHere: false }) as ExecError;
    expect(remote.message).toStartWith("Build of image 'app' for linux/s390x failed: a RUN step could not start its program (exec format error): the engine's machine needs an emulator for linux/s390x");
    expect(remote.message).not.toContain("/proc/sys/fs/binfmt_misc");
  });

  test("emulator check: a RUN on the target platform without a handler is refused first; a stage pinned with FROM --platform is not", () => {
    const binfmt = tempDir();
    writeFileSync(join(binfmt, "register"), "");
    writeFileSync(join(binfmt, "qemu-aarch64"), "enabled\ninterpreter /usr/bin/qemu-aarch64\n");
    const host = { os: "linux", architecture: "amd64" };
    const root = tempDir();
    writeTree(root, { Dockerfile: "FROM base\nRUN true\n", "Pinned.Dockerfile": "FROM --platform=$BUILDPLATFORM base AS b\nRUN make\nFROM base\nCOPY --from=b /out /out\n" });
    const o = defaultBuildOptions();
    const e = emulationError(root, "Dockerfile", "app", o, ["linux/amd64", "linux/arm64", "linux/s390x"], host, binfmt);
    expect(e?.code).toBe("build.emulator-missing");
    expect(e?.message).toStartWith(`Build of image 'app' for linux/s390x cannot run its RUN steps: RUN steps for linux/s390x need an emulator on this linux/amd64 machine: no enabled qemu-s390x handler in ${binfmt}; install qemu-user-static`);
    expect(emulationError(root, "Dockerfile", "app", o, ["linux/amd64", "linux/arm64"], host, binfmt)).toBeUndefined();
    expect(emulationError(root, "Pinned.Dockerfile", "app", o, ["linux/s390x"], host, binfmt)).toBeUndefined();
    expect(runsOnTarget(parseDockerfile("FROM scratch\nCOPY a /a\n", "D"), o, { os: "linux", architecture: "s390x" })).toBe(false);
  });
});
