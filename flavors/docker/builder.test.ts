/**
 * The docker builder against a fake engine (test/helpers/fake_engine.ts); the real engine is exercised in test/engines/.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError } from "../../src/errors.ts";
import { ExecError } from "../../src/exec.ts";
import { DockerImageBuilder, dockerBuildArgv, dockerEnv, parsePushDigest, probeDocker } from "./builder.ts";
import { IID, DIGEST, fakeEngine } from "../../test/helpers/fake_engine.ts";

const { work, fake, ctxDir, recorded, fakeControl, envFor, password, registry, tempsLeft, reset, cleanup } = fakeEngine();
beforeEach(reset);
afterAll(cleanup);

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

  test("argv: --secret and --ssh flags after the platform; the classic builder refuses them", () => {
    const o = defaultBuildOptions({ secrets: [{ id: "tok", env: "T" }], ssh: [{ id: "default" }] });
    const argv = dockerBuildArgv(config, "Dockerfile", ["a:latest"], o, "/i", ["--secret", "id=tok,src=/t/s/0", "--ssh", "default=/agent"]);
    expect(argv.slice(0, 8)).toEqual([fake, "build", "-f", "Dockerfile", "--secret", "id=tok,src=/t/s/0", "--ssh", "default=/agent"]);
    expect(() => dockerBuildArgv({ ...config, builder: "classic" }, "Dockerfile", ["a:latest"], o, "/i")).toThrow("the classic builder (builder: classic) has no RUN --mount");
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
