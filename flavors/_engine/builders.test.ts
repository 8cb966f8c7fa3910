/**
 * The three builders against a fake engine: a shell script that records each call (argv, stdin,
 * DOCKER_CONFIG, the context directory's listing) and answers like the real CLI (iidfile,
 * digestfile, `digest: … size:` lines). The real engines are exercised in test/engines/.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError } from "../../src/errors.ts";
import { ExecError } from "../../src/exec.ts";
import { Secret } from "../../src/secret.ts";
import { BuildahImageBuilder, buildahBuildArgv } from "../buildah/builder.ts";
import { DirectoryBuildContext } from "../_containers/directory_context.ts";
import { DockerImageBuilder, dockerBuildArgv, dockerEnv, parsePushDigest, probeDocker } from "../docker/builder.ts";
import { PodmanImageBuilder, podmanBuildArgv, probePodman } from "../podman/builder.ts";

const work = mkdtempSync(join(tmpdir(), "imgb-builders-test-"));
const calls = join(work, "calls");
const fake = join(work, "fake-engine");
const IID = `sha256:${"a".repeat(64)}`;
const DIGEST = `sha256:${"d".repeat(64)}`;
writeFileSync(
  fake,
  `#!/bin/sh
n=$(ls "${calls}" | wc -l); d="${calls}/$(printf %03d "$n")"; mkdir -p "$d"
printf '%s\\n' "$@" > "$d/argv"; cat > "$d/stdin"; printf '%s' "\${DOCKER_CONFIG:-}" > "$d/docker_config"
prev=""; sub=""
for a in "$@"; do
  case "$prev" in --iidfile) printf '%s' "${IID}" > "$a";; --digestfile) printf '%s' "${DIGEST}" > "$a";; esac
  case "$a" in build|bud|login|push|pull) [ -z "$sub" ] && sub=$a;; esac
  prev=$a
done
last=$(eval echo \\\${$#})
[ -d "$last" ] && (cd "$last" && find . | sort > "$d/context")
FAKE_SLEEP=$(cat "${work}/fake-sleep" 2>/dev/null); FAKE_FAIL=$(cat "${work}/fake-fail" 2>/dev/null)
[ "$sub" = build ] && [ -n "$FAKE_SLEEP" ] && { trap 'exit 130' INT TERM; echo sleeping; sleep "$FAKE_SLEEP" & wait $!; }
[ -n "$FAKE_FAIL" ] && [ "$sub" = "$FAKE_FAIL" ] && { echo "step output"; echo "The command '/bin/sh -c exit 3' returned a non-zero code: 3" >&2; exit 3; }
[ "$sub" = push ] && echo "latest: digest: ${DIGEST} size: 528"
exit 0
`,
  { mode: 0o755 },
);

const ctxDir = join(work, "ctx");
mkdirSync(ctxDir);
writeFileSync(join(ctxDir, "Dockerfile"), "FROM scratch\nCOPY . /\n");
writeFileSync(join(ctxDir, "keep.txt"), "keep");
writeFileSync(join(ctxDir, "drop.log"), "drop");
writeFileSync(join(ctxDir, ".dockerignore"), "*.log\n");

interface Call { argv: string[]; stdin: Uint8Array; dockerConfig: string; context?: string[] }
function recorded(): Call[] {
  return readdirSync(calls).sort().map((n) => {
    const d = join(calls, n);
    return {
      argv: readFileSync(join(d, "argv"), "utf8").trimEnd().split("\n"),
      stdin: new Uint8Array(readFileSync(join(d, "stdin"))),
      dockerConfig: readFileSync(join(d, "docker_config"), "utf8"),
      context: existsSync(join(d, "context")) ? readFileSync(join(d, "context"), "utf8").trimEnd().split("\n") : undefined,
    };
  });
}

/** Steers the fake engine through files: engines inherit only an allow-list of variables. */
function fakeControl(what: "fail" | "sleep", value: string) {
  writeFileSync(join(work, `fake-${what}`), value);
}

function envFor(signal = new AbortController().signal) {
  const logs: string[] = [];
  const reports: BuildReport[] = [];
  return { logs, reports, env: { log: (l: string) => logs.push(l), signal, report: (r: BuildReport) => reports.push(r) } };
}

const password = "fake-registry-password";
const registry = { uri: "127.0.0.1:5000", insecure: true, credentials: { username: "u", password: new Secret(password, "test") } };
// The builders' temporary files go to a TMPDIR of this test's own: the shared /tmp holds other runs' files.
const privateTmp = join(work, "tmp");
mkdirSync(privateTmp);
const sharedTmpdir = process.env.TMPDIR;
process.env.TMPDIR = privateTmp;
const tempsLeft = () => readdirSync(privateTmp).filter((n) => /^imgb-(docker|podman|buildah|context)-/.test(n));

beforeEach(() => {
  rmSync(calls, { recursive: true, force: true });
  mkdirSync(calls);
  rmSync(join(work, "fake-fail"), { force: true });
  rmSync(join(work, "fake-sleep"), { force: true });
});
afterAll(() => {
  if (sharedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = sharedTmpdir;
  rmSync(work, { recursive: true, force: true });
});

describe("docker builder", () => {
  const config = { binary: fake, builder: "buildkit" as const, host: "unix:///x.sock" };

  test("argv: flags, plain progress for BuildKit only, iidfile, tags, extra flags, stdin", () => {
    const o = defaultBuildOptions({ buildArgs: { A: "1" }, pull: true, network: "none", platforms: ["linux/amd64"], extraFlags: ["--squash"] });
    expect(dockerBuildArgv(config, "sub/Dockerfile", ["app:latest", "app:v1"], o, "/t/iid")).toEqual(
      [fake, "build", "-f", "sub/Dockerfile", "--build-arg", "A=1", "--network=none", "--platform", "linux/amd64", "--pull", "--progress=plain", "--iidfile", "/t/iid", "-t", "app:latest", "-t", "app:v1", "--squash", "-"],
    );
    const classic = dockerBuildArgv({ ...config, builder: "classic" }, "Dockerfile", ["a:latest"], defaultBuildOptions({ extraFlags: ["--progress=tty"] }), "/i");
    expect(classic).not.toContain("--progress=plain");
    expect(dockerEnv({ ...config, builder: "classic", tls_verify: true, cert_path: "/c" })).toEqual({ DOCKER_BUILDKIT: "0", DOCKER_HOST: "unix:///x.sock", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/c" });
    expect(parsePushDigest(`abc: Pushed\nlatest: digest: ${DIGEST} size: 528\n`)).toBe(DIGEST);
    expect(parsePushDigest("latest: digest: sha256:short size: 1")).toBeUndefined();
  });

  test("build, login with the password on stdin only, push every tag, return the pushed digest", async () => {
    const { env, reports, logs } = envFor();
    const ref = await new DockerImageBuilder(config, env).build("app", new BuildContext({ root: ctxDir }), defaultBuildOptions({ tags: ["v1"] }), registry);
    expect(ref).toBe(`127.0.0.1:5000/app@${DIGEST}`);
    expect(reports.at(-1)).toEqual({ imageId: IID, digest: DIGEST });
    // Login first: bases in the stack's registry are pulled with it (none here: FROM scratch).
    const [login, build, push1, push2] = recorded();
    expect(build!.argv.slice(0, 4)).toEqual(["build", "-f", "Dockerfile", "--progress=plain"]);
    expect(build!.argv.at(-1)).toBe("-");
    const tar = new TextDecoder().decode(build!.stdin);
    expect(tar).toContain("keep.txt");
    expect(tar).not.toContain("drop.log");
    expect(login!.argv).toEqual(["login", "--username", "u", "--password-stdin", "127.0.0.1:5000"]);
    expect(new TextDecoder().decode(login!.stdin)).toBe(password);
    expect(push1!.argv).toEqual(["push", "127.0.0.1:5000/app:latest"]);
    expect(push2!.argv).toEqual(["push", "127.0.0.1:5000/app:v1"]);
    // A private DOCKER_CONFIG for login and push, gone afterwards; the build keeps the user's.
    expect(build!.dockerConfig).toBe(process.env.DOCKER_CONFIG ?? "");
    expect(login!.dockerConfig).toMatch(/imgb-docker-.*\/config$/);
    expect(push1!.dockerConfig).toBe(login!.dockerConfig);
    expect(existsSync(login!.dockerConfig)).toBe(false);
    for (const c of recorded()) expect(c.argv.join(" ")).not.toContain(password);
    expect(logs.join("\n")).not.toContain(password);
    expect(logs).toContain(`latest: digest: ${DIGEST} size: 528`);
  });

  test("with credentials, a stack base the daemon lacks is pulled with the login before the build; the build keeps the user's config", async () => {
    const root = mkdtempSync(join(work, "docker-stackbase-"));
    const stackBase = `127.0.0.1:5000/base@sha256:${"b".repeat(64)}`;
    writeFileSync(join(root, "Dockerfile"), "ARG BASE\nFROM ${BASE} AS b\nFROM docker.io/library/alpine:3\nCOPY --from=b /x /x\n");
    await new DockerImageBuilder(config, envFor().env).build("app", new BuildContext({ root }), defaultBuildOptions({ buildArgs: { BASE: stackBase } }), registry);
    const [login, inspect, pull, build] = recorded();
    expect(login!.argv[0]).toBe("login");
    expect(inspect!.argv.slice(0, 2)).toEqual(["image", "inspect"]); // the fake answers: no such image
    expect(pull!.argv).toEqual(["pull", stackBase]);
    expect(pull!.dockerConfig).toBe(login!.dockerConfig);
    expect(build!.argv[0]).toBe("build");
    expect(build!.dockerConfig).toBe(process.env.DOCKER_CONFIG ?? "");
  });

  test("a registry without credentials: the user's own docker config is used for the push", async () => {
    const { env } = envFor();
    await new DockerImageBuilder(config, env).build("app", new BuildContext({ root: ctxDir }), defaultBuildOptions(), { uri: "127.0.0.1:5000", insecure: true });
    const [build, push] = recorded();
    expect(push!.argv).toEqual(["push", "127.0.0.1:5000/app:latest"]);
    expect(push!.dockerConfig).toBe(process.env.DOCKER_CONFIG ?? "");
    expect(build!.argv[0]).toBe("build");
  });

  test("no registry: returns the local reference, no push", async () => {
    const { env } = envFor();
    expect(await new DockerImageBuilder(config, env).build("app:dev", new BuildContext({ root: ctxDir }), defaultBuildOptions(), undefined)).toBe("app:dev");
    expect(recorded().map((c) => c.argv[0])).toEqual(["build"]);
  });

  test("a failing build names the step and exit code, and leaves no temp files", async () => {
    fakeControl("fail", "build");
    const before = tempsLeft();
    const e = await new DockerImageBuilder(config, envFor().env).build("app", new BuildContext({ root: ctxDir }), defaultBuildOptions(), registry).catch((x) => x);
    expect(e).toBeInstanceOf(ExecError);
    expect(e.code).toBe("build.step-failed");
    expect(e.shortMessage).toStartWith("Build of image 'app' failed: a build step (/bin/sh -c exit 3) exited with code 3: ");
    expect(e.message).toContain("step output");
    expect(tempsLeft()).toEqual(before);
  });

  test("cancellation stops the engine and removes temp files", async () => {
    fakeControl("sleep", "20");
    const ac = new AbortController();
    const { env, logs } = envFor(ac.signal);
    const before = tempsLeft();
    const p = new DockerImageBuilder(config, env).build("app", new BuildContext({ root: ctxDir }), defaultBuildOptions(), registry);
    while (!logs.includes("sleeping")) await Bun.sleep(20);
    ac.abort();
    expect(await p.catch((x) => x)).toBeInstanceOf(CancelledError);
    expect(tempsLeft()).toEqual(before);
  });

  test("probe: a missing binary and an unreachable daemon are reported, not thrown", async () => {
    const missing = await probeDocker({ ...config, binary: "/nonexistent/docker" });
    expect(missing).toMatchObject({ available: false, hint: expect.stringContaining("apt-get install docker.io") });
    const down = await probeDocker({ ...config, binary: "/usr/bin/false" });
    expect(down.available).toBe(false);
    expect(down.reason).toStartWith('The Docker daemon at unix:///x.sock is not reachable');
  });
});

describe("podman and buildah builders", () => {
  test("argv: local storage flags or --remote, layers, pull=always, context directory last", () => {
    const o = defaultBuildOptions({ target: "t", pull: true });
    expect(podmanBuildArgv({ binary: "podman", layers: true, format: "auto", root: "/r", storage_driver: "vfs" }, "/ctx", "Dockerfile", ["a:latest"], o, "/i")).toEqual(
      ["podman", "--root", "/r", "--storage-driver", "vfs", "build", "-f", "/ctx/Dockerfile", "--target", "t", "--layers=true", "--pull=always", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
    expect(podmanBuildArgv({ binary: "podman", layers: false, format: "auto", url: "unix:///s" }, "/ctx", "d/Containerfile", ["a:latest"], defaultBuildOptions(), "/i").slice(0, 7)).toEqual(
      ["podman", "--remote", "--url", "unix:///s", "build", "-f", "/ctx/d/Containerfile"],
    );
    const extras = { format: "docker" as const, registryFlags: ["--tls-verify=false", "--authfile", "/a.json"] };
    expect(buildahBuildArgv({ binary: "buildah", layers: true, format: "auto", isolation: "chroot" }, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions(), "/i", extras)).toEqual(
      ["buildah", "bud", "-f", "/ctx/Dockerfile", "--layers=true", "--force-rm", "--format", "docker", "--tls-verify=false", "--authfile", "/a.json", "--isolation", "chroot", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
  });

  test("podman: a directory context without ignore files, authfile login on stdin, digestfile push", async () => {
    const { env, reports } = envFor();
    const builder = new PodmanImageBuilder({ binary: fake, layers: true, format: "auto" }, env);
    expect(builder.buildContextClass).toBe(DirectoryBuildContext);
    const ref = await builder.build("app", new builder.buildContextClass({ root: ctxDir }), defaultBuildOptions(), registry);
    expect(ref).toBe(`127.0.0.1:5000/app@${DIGEST}`);
    expect(reports.at(-1)).toEqual({ imageId: IID, digest: DIGEST });
    // Login first: its authfile serves the build's pulls from the registry as well as the push.
    const [login, build, push] = recorded();
    expect(build!.context).toEqual([".", "./Dockerfile", "./keep.txt"]);
    expect(build!.argv).toContain("--format");
    expect(login!.argv.slice(0, 3)).toEqual(["login", "--tls-verify=false", "--authfile"]);
    expect(login!.argv.slice(4)).toEqual(["--username", "u", "--password-stdin", "127.0.0.1:5000"]);
    expect(new TextDecoder().decode(login!.stdin)).toBe(password);
    const authfile = login!.argv[3]!;
    expect(push!.argv).toEqual(["push", "--tls-verify=false", "--authfile", authfile, "--digestfile", expect.any(String), "127.0.0.1:5000/app:latest"]);
    expect(existsSync(authfile)).toBe(false);
    expect(existsSync(build!.argv.at(-1)!)).toBe(false); // the context directory is removed
  });

  test("buildah: pushes to an explicit docker:// destination and removes the context on failure", async () => {
    const { env } = envFor();
    const builder = new BuildahImageBuilder({ binary: fake, layers: true, format: "oci" }, env);
    expect(await builder.build("app", new builder.buildContextClass({ root: ctxDir }), defaultBuildOptions(), { uri: "127.0.0.1:5000", insecure: false })).toBe(`127.0.0.1:5000/app@${DIGEST}`);
    expect(recorded()[1]!.argv.slice(-2)).toEqual(["127.0.0.1:5000/app:latest", "docker://127.0.0.1:5000/app:latest"]);
    rmSync(calls, { recursive: true });
    mkdirSync(calls);
    fakeControl("fail", "bud");
    const before = tempsLeft();
    const e = await builder.build("app", new builder.buildContextClass({ root: ctxDir }), defaultBuildOptions(), undefined).catch((x) => x);
    expect(e.code).toBe("build.step-failed");
    expect(tempsLeft()).toEqual(before);
  });

  test("a base from the stack registry is pulled with the push's flags: on the build, or first when other registries are involved", async () => {
    const stackBase = `127.0.0.1:5000/base@sha256:${"b".repeat(64)}`;
    const root = mkdtempSync(join(work, "stackbase-"));
    writeFileSync(join(root, "Dockerfile"), "ARG BASE\nFROM ${BASE}\n");
    const builder = new PodmanImageBuilder({ binary: fake, layers: true, format: "auto" }, envFor().env);
    await builder.build("app", new builder.buildContextClass({ root }), defaultBuildOptions({ buildArgs: { BASE: stackBase } }), registry);
    const [login, build] = recorded();
    const authfile = login!.argv[3]!;
    expect(build!.argv[0]).toBe("build");
    expect(build!.argv.join(" ")).toContain(`--tls-verify=false --authfile ${authfile}`);

    rmSync(calls, { recursive: true });
    mkdirSync(calls);
    writeFileSync(join(root, "Dockerfile"), "ARG BASE\nFROM ${BASE} AS b\nFROM docker.io/library/alpine:3\nCOPY --from=b /x /x\n");
    await builder.build("app", new builder.buildContextClass({ root }), defaultBuildOptions({ buildArgs: { BASE: stackBase } }), registry);
    const [, pull, build2] = recorded();
    expect(pull!.argv).toEqual(["pull", "--tls-verify=false", "--authfile", expect.stringMatching(/auth\.json$/), stackBase]);
    expect(build2!.argv[0]).toBe("build");
    expect(build2!.argv).not.toContain("--tls-verify=false");
    expect(build2!.argv).not.toContain("--authfile");
  });

  test("format: oci with a HEALTHCHECK fails before any engine command (no login, no build)", async () => {
    const root = mkdtempSync(join(work, "healthcheck-"));
    writeFileSync(join(root, "Dockerfile"), "FROM scratch\nHEALTHCHECK CMD true\n");
    const before = tempsLeft();
    const builder = new BuildahImageBuilder({ binary: fake, layers: true, format: "oci" }, envFor().env);
    const e = await builder.build("app", new builder.buildContextClass({ root }), defaultBuildOptions(), registry).catch((x) => x);
    expect(e.code).toBe("build.docker-only-instruction");
    expect(e.location).toEqual({ file: join(root, "Dockerfile"), line: 2, col: 1 });
    expect(recorded()).toEqual([]);
    expect(tempsLeft()).toEqual(before);
    // auto (the default) builds it in docker format instead.
    await new BuildahImageBuilder({ binary: fake, layers: true, format: "auto" }, envFor().env).build("app", new builder.buildContextClass({ root }), defaultBuildOptions());
    expect(recorded()[0]!.argv.join(" ")).toContain("--format docker");
  });

  test("several platforms are refused before anything runs", async () => {
    const builder = new PodmanImageBuilder({ binary: fake, layers: true, format: "auto" }, envFor().env);
    const e = await builder.build("app", new BuildContext({ root: ctxDir }), defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] })).catch((x) => x);
    expect(e.code).toBe("build.platforms-unsupported");
    expect(recorded()).toEqual([]);
  });

  test("probe: podman missing", async () => {
    expect(await probePodman({ binary: "/nonexistent/podman", layers: true, format: "auto" })).toMatchObject({ available: false, hint: expect.stringContaining("apt-get install podman") });
  });
});
