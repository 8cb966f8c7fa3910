/**
 * The multi-platform flow of the podman/buildah builders against a scripted engine: which
 * commands run in which order, with which argv, and what is cleaned up when a platform fails.
 * The real engines and registry are exercised in test/engines/multi_platform_containers.e2e.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError } from "../../src/errors.ts";
import { ExecError, type ExecOptions } from "../../src/exec.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { buildahBuildArgv } from "../buildah/builder.ts";
import { podmanBuildArgv } from "../podman/builder.ts";
import { explainFailure } from "../_engine/failure.ts";
import { normalizePlatform } from "../_engine/platforms.ts";
import { buildWithContainersTools, type ContainersEngine } from "./build.ts";
import { emulationError, runsOnTarget } from "./emulation_check.ts";
import { indexPlatforms, manifestCreateArgv } from "./manifest_list.ts";
import { distinctPlatforms } from "./multi_platform.ts";
import { foreignStages, pinDockerfile } from "./pin_bases.ts";
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

const sha = (b: string | Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

/** The config of the image the scripted engine builds for `platform`: its ID is the config's digest, as in containers-storage. */
function configFor(platform: string): string {
  const [os, architecture, variant] = platform.split("/");
  return JSON.stringify({ os, architecture, ...(variant ? { variant } : {}), rootfs: { type: "layers", diff_ids: [] } });
}

/** The image ID the scripted engine writes for a build of `platform`. */
function imageIdFor(platform: string): string {
  return sha(configFor(platform));
}

/**
 * The registry the scripted engine pushes to: manifests and blobs in memory, PUTs recorded.
 * A push of image ID X stores an OCI (or, with `--format v2s2`, Docker) manifest whose config
 * is the blob `configs.get(X)`.
 */
const blobs = new Map<string, Uint8Array>();
const manifests = new Map<string, { bytes: Uint8Array; type: string }>();
const puts: string[] = [];
const registryServer = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/v2/") return new Response("{}");
    const m = url.pathname.match(/^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/);
    if (!m) return new Response("no", { status: 404 });
    const key = `${m[1]}@${m[3]}`;
    if (m[2] === "blobs") {
      const b = blobs.get(m[3]!);
      return b ? new Response(b) : new Response("no", { status: 404 });
    }
    if (req.method === "PUT") {
      const bytes = new Uint8Array(await req.arrayBuffer());
      const type = req.headers.get("content-type") ?? "";
      manifests.set(key, { bytes, type });
      manifests.set(`${m[1]}@${sha(bytes)}`, { bytes, type });
      puts.push(`${m[1]}:${m[3]} ${type}`);
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": sha(bytes) } });
    }
    const found = manifests.get(key);
    if (!found) return new Response("no", { status: 404 });
    return new Response(req.method === "HEAD" ? null : found.bytes, { headers: { "Content-Type": found.type, "Docker-Content-Digest": sha(found.bytes) } });
  },
});
const REGISTRY = `127.0.0.1:${registryServer.port}`;
afterAll(() => registryServer.stop(true));

/** `base:1` in the scripted registry: an index over an amd64 and an arm64 manifest (the digests FROM lines are pinned to). */
const BASE_DIGESTS: Record<string, string> = {};
{
  const entries = ["amd64", "arm64"].map((architecture) => {
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { digest: sha(architecture), size: 1 }, layers: [] }));
    manifests.set(`base@${sha(bytes)}`, { bytes, type: "application/vnd.oci.image.manifest.v1+json" });
    BASE_DIGESTS[architecture] = sha(bytes);
    return { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(bytes), size: bytes.length, platform: { os: "linux", architecture } };
  });
  const index = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: entries }));
  manifests.set("base@1", { bytes: index, type: "application/vnd.oci.image.index.v1+json" });
}

/** What a `push ... ID docker://HOST/REPO:TAG` puts in the registry; its manifest digest. */
function scriptedPush(argv: string[], configOf: (id: string) => string | undefined): string {
  const id = `sha256:${argv.at(-2)!}`;
  const dest = argv.at(-1)!.replace(/^docker:\/\//, "");
  const repo = dest.slice(dest.indexOf("/") + 1, dest.lastIndexOf(":"));
  const config = new TextEncoder().encode(configOf(id) ?? "{}");
  blobs.set(sha(config), config);
  const docker = argv[argv.indexOf("--format") + 1] === "v2s2";
  const type = docker ? "application/vnd.docker.distribution.manifest.v2+json" : "application/vnd.oci.image.manifest.v1+json";
  const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: type, config: { mediaType: docker ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length }, layers: [] }));
  manifests.set(`${repo}@${sha(manifest)}`, { bytes: manifest, type });
  manifests.set(`${repo}@${dest.slice(dest.lastIndexOf(":") + 1)}`, { bytes: manifest, type });
  return sha(manifest);
}

/**
 * A buildah-like engine that records argv; `fail(argv)` makes a call fail with engine output.
 * A build writes its --iidfile (an ID per platform, or `idOf`'s) after `during(argv, signal)`.
 */
function scriptedEngine(fail: (argv: string[]) => string[] | undefined = () => undefined, during: (argv: string[], signal?: AbortSignal) => Promise<void> = async () => {}, idOf = imageIdFor) {
  const calls: string[][] = [];
  const reports: BuildReport[] = [];
  const logs: string[] = [];
  /** Image ID -> config, of every image built. */
  const configs = new Map<string, string>();
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
    run: async (argv: string[], o?: ExecOptions) => {
      calls.push(argv);
      const digestfile = argv.indexOf("--digestfile");
      if (argv[1] === "push" && !fail(argv)) {
        const digest = scriptedPush(argv, (id) => configs.get(id));
        if (digestfile > 0) writeFileSync(argv[digestfile + 1]!, digest);
      } else if (digestfile > 0) writeFileSync(argv[digestfile + 1]!, `sha256:${"d".repeat(64)}`);
      if (argv.includes("bud")) {
        await during(argv, o?.signal);
        if (o?.signal?.aborted) throw new CancelledError();
        const iidfile = argv.indexOf("--iidfile");
        const platform = argv[argv.indexOf("--platform") + 1]!;
        if (!fail(argv)) {
          writeFileSync(argv[iidfile + 1]!, idOf(platform));
          if (!configs.has(idOf(platform))) configs.set(idOf(platform), configFor(platform));
        }
      }
      const output = fail(argv);
      if (output) throw new ExecError({ argv, exitCode: 1, durationMs: 1, tail: output });
      return { stdout: argv[1] === "manifest" && argv[2] === "inspect" ? LIST_JSON : "", stderr: "", tail: [], durationMs: 1 };
    },
  };
  return { engine, calls, reports, logs };
}

/** No RUN: the emulator check (tested on its own below) does not depend on this machine's binfmt_misc. */
function context(dockerfile = `FROM ${REGISTRY}/base:1\nARG TARGETARCH\nCOPY Dockerfile /\n`): BuildContext {
  const root = tempDir();
  writeTree(root, { Dockerfile: dockerfile });
  return new BuildContext({ root });
}

/** The argv without the temporary paths that differ per run. */
function shape(argv: string[]): string[] {
  return argv.map((a) => (a.includes("/imgb-") ? "<tmp>" : a));
}

describe("multi-platform builds (podman, buildah)", () => {
  test("argv: one platform gives --platform (normalized) and tags as before; a platform of a list build gives no tags; the list is created over image IDs", () => {
    const config = { binary: "podman", layers: true, format: "auto" } as const;
    expect(podmanBuildArgv(config, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions({ platforms: ["linux/amd64"] }), "/i")).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--platform", "linux/amd64", "--layers=true", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
    expect(podmanBuildArgv(config, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions(), "/i")).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--layers=true", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
    const o = defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] });
    expect(podmanBuildArgv(config, "/ctx", "Dockerfile", [], o, "/i1", { platform: "linux/arm64/v8", format: "docker" })).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--platform", "linux/arm64", "--layers=true", "--format", "docker", "--iidfile", "/i1", "/ctx"],
    );
    expect(() => podmanBuildArgv(config, "/ctx", "Dockerfile", [], o, "/i")).toThrow("without the platform to build");
    // A bare `sha256:…` would be read as the name docker.io/library/sha256:… (podman 4.3, buildah 1.28).
    expect(manifestCreateArgv(["podman", "--remote"], "reg/app:latest", [`sha256:${"a".repeat(64)}`, "b".repeat(64)])).toEqual(
      ["podman", "--remote", "manifest", "create", "reg/app:latest", `containers-storage:${"a".repeat(64)}`, `containers-storage:${"b".repeat(64)}`],
    );
  });

  test("platforms are normalized as BuildKit writes them; two spellings of one platform are refused", () => {
    expect(["linux/arm64/v8", "linux/aarch64", "linux/x86_64", "linux/amd64/v1", "linux/arm", "linux/arm/7", "linux/arm/v6", "linux/amd64/v3", "linux/s390x"].map(normalizePlatform)).toEqual(
      ["linux/arm64", "linux/arm64", "linux/amd64", "linux/amd64", "linux/arm/v7", "linux/arm/v7", "linux/arm/v6", "linux/amd64/v3", "linux/s390x"],
    );
    expect(distinctPlatforms(["linux/amd64", "linux/arm64/v8"])).toEqual(["linux/amd64", "linux/arm64"]);
    expect(() => distinctPlatforms(["linux/arm64", "linux/arm64/v8"])).toThrow("Platforms 'linux/arm64' and 'linux/arm64/v8' are the same platform (linux/arm64)");
  });

  test("no registry: the name is freed meanwhile, each platform built to an image of its own, the list created over them, other tags point at the list, the log says what exists", async () => {
    const { engine, calls, reports, logs } = scriptedEngine();
    const ref = await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"], tags: ["v1"] }));
    expect(ref).toBe("app:latest");
    // The name is freed while the platforms build (their order against the builds is free).
    const freeing = [["buildah", "manifest", "rm", "app:latest"], ["buildah", "rmi", "app:latest"]]; // an earlier single-platform image of that name loses the name
    const builds = calls.filter((c) => c.includes("bud"));
    expect(calls.filter((c) => !c.includes("bud")).slice(0, 2)).toEqual(freeing);
    expect(builds.map(shape)).toEqual([
      ["buildah", "bud", "-f", "<tmp>", "--build-arg", "TARGETARCH=amd64", "--platform", "linux/amd64", "--layers=true", "--force-rm", "--format", "oci", "--iidfile", "<tmp>", "<tmp>"],
      ["buildah", "bud", "-f", "<tmp>", "--build-arg", "TARGETARCH=arm64", "--platform", "linux/arm64", "--layers=true", "--force-rm", "--format", "oci", "--iidfile", "<tmp>", "<tmp>"],
    ]);
    // Each platform's FROM pinned to its own manifest: the two builds never share a base name.
    expect(builds.map((c) => c[3]!.endsWith(".pinned-0") || c[3]!.endsWith(".pinned-1"))).toEqual([true, true]);
    expect(calls.slice(-4)).toEqual([
      manifestCreateArgv(["buildah"], "app:latest", [imageIdFor("linux/amd64"), imageIdFor("linux/arm64")]),
      ["buildah", "manifest", "inspect", "app:latest"], // every platform is in the list
      ["buildah", "tag", "app:latest", "app:v1"],
      ["buildah", "manifest", "inspect", "app:latest"],
    ]);
    expect(reports).toEqual([{ platforms: { "linux/amd64": `sha256:${"1".repeat(64)}`, "linux/arm64": `sha256:${"2".repeat(64)}` } }]);
    expect(logs).toEqual(["Built linux/amd64, linux/arm64 into the local manifest list 'app:latest' (nothing pushed: the stack has no container_registry); see it with: buildah manifest inspect app:latest"]);
  });

  test("a failing platform is named, no tag of the image is written, no list is made", async () => {
    const failArm = (argv: string[]) => (argv.includes("bud") && argv.includes("linux/arm64") ? ['Error: building at STEP "RUN [ "$(uname -m)" = x86_64 ]": while running runtime: exit status 1'] : undefined);
    const { engine, calls } = scriptedEngine(failArm);
    const registry = { uri: REGISTRY, insecure: true };
    const e = await buildWithContainersTools(engine, "fail-named", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), registry).catch((x: unknown) => x as ExecError);
    expect(e).toBeInstanceOf(ExecError);
    expect((e as ExecError).code).toBe("build.step-failed");
    expect((e as ExecError).message).toStartWith(`Build of image 'fail-named' for linux/arm64 failed: a build step (RUN [ "$(uname -m)" = x86_64 ]) exited with code 1`);
    expect(puts.filter((p) => p.startsWith("fail-named:"))).toEqual([]);
    expect(manifests.has("fail-named@latest")).toBe(false);
    // A platform pushed before its sibling failed is under its helper tag only.
    expect(calls.filter((c) => c[1] === "push").map((c) => c.at(-1))).toEqual(calls.some((c) => c[1] === "push") ? [`docker://${REGISTRY}/fail-named:imgb-platform-linux-amd64`] : []);
    expect(calls.some((c) => c[1] === "manifest")).toBe(false);
    expect(calls.filter((c) => c.includes("bud")).length).toBe(2);
  });

  test("the platforms build at once: each build starts before any finishes, its log lines carry its platform", async () => {
    let inFlight = 0;
    let most = 0;
    let release!: () => void;
    const bothStarted = new Promise<void>((r) => (release = r));
    const during = async () => {
      most = Math.max(most, ++inFlight);
      if (inFlight === 2) release();
      await bothStarted; // one after the other, this would never resolve: the test times out
      inFlight--;
    };
    const { engine, calls } = scriptedEngine(undefined, during);
    const logged: string[] = [];
    const run = engine.run;
    engine.run = (argv, o) => {
      o?.onStderr?.("step 1/2");
      logged.push(...(o?.onStderr ? [] : ["(unprefixed)"]));
      return run(argv, o);
    };
    engine.log = (l) => logged.push(l);
    await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }));
    expect(most).toBe(2);
    expect(calls.filter((c) => c.includes("bud")).length).toBe(2);
    expect(logged).toContain("[linux/amd64] step 1/2");
    expect(logged).toContain("[linux/arm64] step 1/2");
  });

  test("a failing platform stops the other one (its build is cancelled), is the one named, and no list is created", async () => {
    let cancelled = false;
    const failArm = (argv: string[]) => (argv.includes("bud") && argv.includes("linux/arm64") ? ["Error: building at STEP \"RUN false\": while running runtime: exit status 1"] : undefined);
    // amd64 builds until it is cancelled; arm64 fails at once.
    const during = (argv: string[], signal?: AbortSignal) =>
      argv.includes("linux/amd64") ? new Promise<void>((resolve) => signal?.addEventListener("abort", () => ((cancelled = true), resolve()), { once: true })) : Promise.resolve();
    const { engine, calls, logs } = scriptedEngine(failArm, during);
    const e = await buildWithContainersTools(engine, "fail-stops", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), { uri: REGISTRY, insecure: true }).catch((x: unknown) => x as ExecError);
    expect(cancelled).toBe(true);
    expect((e as ExecError).message).toStartWith("Build of image 'fail-stops' for linux/arm64 failed: a build step (RUN false) exited with code 1");
    expect(logs).toContain("[linux/amd64] stopped: another platform failed");
    expect(calls.some((c) => c[1] === "manifest")).toBe(false);
    expect(calls.some((c) => c.includes("push"))).toBe(false);
    expect(puts.filter((p) => p.startsWith("fail-stops:"))).toEqual([]);
  });

  /** A script whose arm64 builds number `failing` (counted from 1) fail with the moved-name race. */
  const movedOn = (failing: readonly number[]) => {
    let armBuilds = 0;
    const moved = (argv: string[]) =>
      argv.includes("bud") && argv.includes("linux/arm64") && failing.includes(armBuilds)
        ? ['Error: creating build container: locating pulled image "reg/base:1" name in containers storage: reg/base:1: image not known']
        : undefined;
    return scriptedEngine(moved, async (argv) => void (argv.includes("linux/arm64") && armBuilds++));
  };
  const armPlatforms = (calls: string[][]) => calls.filter((c) => c.includes("bud")).map((c) => c[c.indexOf("--platform") + 1]);

  test("a build whose base name the other platform's pull moved is built again at once", async () => {
    const { engine, calls, logs } = movedOn([1]);
    await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }));
    expect(armPlatforms(calls).filter((p) => p === "linux/arm64")).toHaveLength(2);
    expect(logs).toContain("[linux/arm64] the base image's name was moved by the other platform's pull while this build looked it up: building linux/arm64 again");
    expect(calls.find((c) => c[2] === "create")).toEqual(manifestCreateArgv(["buildah"], "app:latest", [imageIdFor("linux/amd64"), imageIdFor("linux/arm64")]));
  });

  test("moved again on both immediate retries: built once more, alone, after the others", async () => {
    const { engine, calls, logs } = movedOn([1, 2, 3]);
    await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }));
    expect(armPlatforms(calls).filter((p) => p === "linux/arm64")).toHaveLength(4);
    expect(logs).toContain("[linux/arm64] the base image's name was moved by the other platform's pull while this build looked it up: building linux/arm64 again, after the other platforms");
    expect(calls.find((c) => c[2] === "create")).toEqual(manifestCreateArgv(["buildah"], "app:latest", [imageIdFor("linux/amd64"), imageIdFor("linux/arm64")]));
  });

  test("two platforms that built the same image: the later one is missing, no list is created", async () => {
    const { engine, calls } = scriptedEngine(undefined, undefined, () => `sha256:${"c".repeat(64)}`);
    const e = await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] })).catch((x: unknown) => x as Error);
    expect((e as { code?: string }).code).toBe("build.platform-missing");
    expect((e as Error).message).toBe("Build of image 'app' made no linux/arm64 image: the builds made images for linux/amd64 only, so buildah built the same image for two platforms");
    expect(calls.some((c) => c[1] === "manifest" && c[2] === "create")).toBe(false);
    expect(calls.at(-1)).toEqual(["buildah", "manifest", "rm", "app:latest"]);
  });

  const prePullSteps = (calls: string[][]) => calls.filter((c) => c[1] === "pull" || c[1] === "bud" || c[1] === "push").map((c) => `${c[1]} ${c[1] === "push" ? c.at(-1)!.split(":").at(-1) : c[c.indexOf("--platform") + 1]}`);

  test("bases pulled first (the stack registry's next to another one), one imgb cannot pin: each platform's pull right before its own build, one platform after the other", async () => {
    const { engine, calls } = scriptedEngine();
    const registry = { uri: REGISTRY, insecure: true };
    // `missing:1` is not in the registry: its stage keeps the name, which the pulls move.
    await buildWithContainersTools(engine, "prepulled", context(`FROM ${REGISTRY}/missing:1\nFROM 127.0.0.1:1/b:2\nCOPY --from=0 /a /a\n`), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), registry);
    expect(prePullSteps(calls)).toEqual(["pull linux/amd64", "bud linux/amd64", "push imgb-platform-linux-amd64", "pull linux/arm64", "bud linux/arm64", "push imgb-platform-linux-arm64"]);
  });

  test("bases pulled first, all pinned by digest in every platform's Dockerfile: the platforms pull and build side by side", async () => {
    let inFlight = 0;
    let most = 0;
    const { engine, calls } = scriptedEngine(undefined, async () => {
      most = Math.max(most, ++inFlight);
      await Bun.sleep(20);
      inFlight--;
    });
    const registry = { uri: REGISTRY, insecure: true };
    await buildWithContainersTools(engine, "prepulled-pinned", context(`FROM ${REGISTRY}/base:1\nFROM 127.0.0.1:1/b:2\nCOPY --from=0 /a /a\n`), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), registry);
    expect(most).toBe(2);
    expect(prePullSteps(calls).filter((s) => s.startsWith("pull")).sort()).toEqual(["pull linux/amd64", "pull linux/arm64"]);
  });

  test("--iidfile in the extra flags: refused before anything builds (each platform writes its own)", async () => {
    const { engine, calls } = scriptedEngine();
    const e = await buildWithContainersTools(engine, "app", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"], extraFlags: ["--iidfile", "/x"] })).catch((x: unknown) => x as Error);
    expect((e as { code?: string }).code).toBe("build.platforms-iidfile");
    expect(calls.some((c) => c.includes("bud"))).toBe(false);
  });

  test("with a registry: each platform pushed by image ID under its helper tag, in the format it was built in, as soon as it is built; the index PUT under every tag, last", async () => {
    // arm64's build ends only once amd64 is pushed: pushes after the last build would never come (the test times out).
    let amdPushed!: () => void;
    const pushedAmd = new Promise<void>((r) => (amdPushed = r));
    const { engine, calls, reports, logs } = scriptedEngine(undefined, async (argv) => {
      if (argv.includes("linux/arm64")) await pushedAmd;
    });
    const run = engine.run;
    engine.run = (argv, o) => {
      if (argv[1] === "push" && argv.at(-1)!.endsWith("amd64")) amdPushed();
      return run(argv, o);
    };
    const registry = { uri: REGISTRY, insecure: true };
    const root = tempDir();
    writeTree(root, { Dockerfile: `FROM ${REGISTRY}/base:1\nHEALTHCHECK CMD true\n` });
    const ref = await buildWithContainersTools(engine, "pushed", new BuildContext({ root }), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"], tags: ["v1"] }), registry);
    const pushes = calls.filter((c) => c[1] === "push").map(shape);
    expect(pushes).toEqual(["linux/amd64", "linux/arm64"].map((p) => ["buildah", "push", "--tls-verify=false", "--format", "v2s2", "--digestfile", "<tmp>", imageIdFor(p).slice(7), `docker://${REGISTRY}/pushed:imgb-platform-${p.replace("/", "-")}`]));
    expect(calls.filter((c) => c.includes("bud")).every((c) => c.includes("--format") && c[c.indexOf("--format") + 1] === "docker")).toBe(true);
    expect(calls.some((c) => c[1] === "manifest")).toBe(false); // no local list
    expect(puts.filter((p) => p.startsWith("pushed:"))).toEqual(["pushed:latest application/vnd.docker.distribution.manifest.list.v2+json", "pushed:v1 application/vnd.docker.distribution.manifest.list.v2+json"]);
    const index = JSON.parse(new TextDecoder().decode(manifests.get("pushed@latest")!.bytes)) as { manifests: { digest: string; platform: { architecture: string } }[]; annotations?: Record<string, string> };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(["amd64", "arm64"]);
    const digest = sha(manifests.get("pushed@latest")!.bytes);
    expect(ref).toBe(`${REGISTRY}/pushed@${digest}`);
    expect(reports).toEqual([{ digest, platforms: { "linux/amd64": index.manifests[0]!.digest, "linux/arm64": index.manifests[1]!.digest } }]);
    expect(logs.at(-1)).toBe(`Pushed the Docker manifest list ${REGISTRY}/pushed@${digest} (linux/amd64, linux/arm64) to ${REGISTRY}/pushed:latest, ${REGISTRY}/pushed:v1`);
  });

  test("with a registry, OCI images: an OCI index, the image's annotations on it", async () => {
    const { engine, calls } = scriptedEngine();
    await buildWithContainersTools(engine, "annotated", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"], annotations: { "org.example.a": "1" } }), { uri: REGISTRY, insecure: true });
    expect(calls.filter((c) => c[1] === "push").every((c) => c[c.indexOf("--format") + 1] === "oci")).toBe(true);
    expect(puts.filter((p) => p.startsWith("annotated:"))).toEqual(["annotated:latest application/vnd.oci.image.index.v1+json"]);
    const index = JSON.parse(new TextDecoder().decode(manifests.get("annotated@latest")!.bytes)) as { annotations?: Record<string, string> };
    expect(index.annotations).toEqual({ "org.example.a": "1" });
  });

  test("with a registry: a platform whose pushed image is for another platform (a base without it) is an error, and no tag is written", async () => {
    const { engine } = scriptedEngine(undefined, undefined, (p) => imageIdFor(p === "linux/arm64" ? "linux/amd64" : p));
    const e = await buildWithContainersTools(engine, "wrongarch", context(), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), { uri: REGISTRY, insecure: true }).catch((x: unknown) => x as Error);
    expect((e as { code?: string }).code).toBe("build.platform-missing");
    expect((e as Error).message).toStartWith("Build of image 'wrongarch' made no linux/arm64 image: the image built for it is for linux/amd64");
    expect(puts.filter((p) => p.startsWith("wrongarch:"))).toEqual([]);
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

  test("stages on another platform: found with the real build platform, pinned by digest without their --platform flag, on the same line", () => {
    const text = "ARG V=1\nFROM --platform=$BUILDPLATFORM reg.example/tool:$V AS build\nRUN make\nFROM reg.example/base:2 AS final\nCOPY --from=build /out /out\nFROM --platform=linux/s390x other.example/x:1 AS unused\n";
    const amd = { os: "linux", architecture: "amd64" };
    const arm = { os: "linux", architecture: "arm64" };
    const stages = foreignStages(text, "Dockerfile", {}, arm, amd, "final");
    expect(stages).toEqual([{ line: 2, word: "reg.example/tool:$V", ref: "reg.example/tool:1", platform: "linux/amd64", foreign: true }]);
    // Building for the build platform itself: nothing is foreign; `all` (a platform of a multi-platform build) takes every stage.
    expect(foreignStages(text, "Dockerfile", {}, amd, amd, "final")).toEqual([]);
    expect(foreignStages(text, "Dockerfile", {}, arm, amd, "final", true).map((s) => [s.line, s.platform, s.foreign])).toEqual([[2, "linux/amd64", true], [4, "linux/arm64", false]]);
    const pinned = pinDockerfile(text, [{ ...stages[0]!, pinned: `reg.example/tool@sha256:${"a".repeat(64)}` }]);
    expect(pinned.text.split("\n")).toEqual(["ARG V=1", `FROM reg.example/tool@sha256:${"a".repeat(64)} AS build`, "RUN make", "FROM reg.example/base:2 AS final", "COPY --from=build /out /out", "FROM --platform=linux/s390x other.example/x:1 AS unused", ""]);
    // A FROM whose word is not where it was written (a continuation line) is left alone.
    expect(pinDockerfile("FROM \\\n  base\n", [{ line: 1, word: "base", ref: "base", platform: "linux/amd64", foreign: true, pinned: "x@sha256:1" }]).pinned).toEqual([]);
  });

  test("a builder stage FROM --platform=$BUILDPLATFORM: each platform's build gets its Dockerfile with every stage pinned to that platform's manifest of the base", async () => {
    const { engine, calls, logs } = scriptedEngine();
    const seen: Record<string, string> = {};
    const run = engine.run;
    engine.run = (argv, o) => {
      if (argv.includes("bud")) seen[argv[argv.indexOf("--platform") + 1]!] = readFileSync(argv[argv.indexOf("-f") + 1]!, "utf8");
      return run(argv, o);
    };
    const df = `FROM --platform=$BUILDPLATFORM ${REGISTRY}/base:1 AS build\nRUN make\nFROM ${REGISTRY}/base:1\nCOPY --from=build /out /out\n`;
    await buildWithContainersTools(engine, "cross", context(df), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }));
    const pin = (arch: string) => `${REGISTRY}/base@${BASE_DIGESTS[arch]}`;
    expect(seen).toEqual({
      "linux/amd64": `FROM ${pin("amd64")} AS build\nRUN make\nFROM ${pin("amd64")}\nCOPY --from=build /out /out\n`,
      "linux/arm64": `FROM ${pin("amd64")} AS build\nRUN make\nFROM ${pin("arm64")}\nCOPY --from=build /out /out\n`,
    });
    expect(calls.filter((c) => c.includes("bud")).length).toBe(2);
    expect(logs.filter((l) => l.includes("pinned to")).map((l) => l.replace(/ \/\S*\/Dockerfile:/, " Dockerfile:"))).toEqual([`[linux/arm64] Dockerfile:1: FROM ${REGISTRY}/base:1 for linux/amd64 pinned to ${pin("amd64")}, another platform than the image's (the engine's "image platform … does not match the expected platform" warning for it is expected; README: "Stages on another platform")`]);
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
