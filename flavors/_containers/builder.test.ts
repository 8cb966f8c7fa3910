/**
 * The podman and buildah builders (the containers-tools family) against a fake engine
 * (test/helpers/fake_engine.ts); the real engines are exercised in test/engines/.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { BuildahImageBuilder, buildahBuildArgv } from "../buildah/builder.ts";
import { DirectoryBuildContext } from "./directory_context.ts";
import { PodmanImageBuilder, podmanBuildArgv, probePodman } from "../podman/builder.ts";
import { IID, DIGEST, fakeEngine } from "../../test/helpers/fake_engine.ts";

const { work, calls, fake, ctxDir, recorded, fakeControl, envFor, password, registry, tempsLeft, reset, cleanup } = fakeEngine();
beforeEach(reset);
afterAll(cleanup);

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

  test("argv: --secret and --ssh flags after the registry flags, before --pull and the context", () => {
    const mounts = ["--secret", "id=tok,src=/t/0", "--ssh", "default=/agent"];
    expect(podmanBuildArgv({ binary: "podman", layers: true, format: "auto" }, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions({ pull: true }), "/i", { mounts })).toEqual(
      ["podman", "build", "-f", "/ctx/Dockerfile", "--layers=true", ...mounts, "--pull=always", "--iidfile", "/i", "-t", "a:latest", "/ctx"],
    );
    const buildah = buildahBuildArgv({ binary: "buildah", layers: true, format: "auto" }, "/ctx", "Dockerfile", ["a:latest"], defaultBuildOptions(), "/i", { mounts });
    expect(buildah.slice(buildah.indexOf("--secret"), buildah.indexOf("--secret") + 4)).toEqual(mounts);
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

  test("probe: podman missing", async () => {
    expect(await probePodman({ binary: "/nonexistent/podman", layers: true, format: "auto" })).toMatchObject({ available: false, hint: expect.stringContaining("apt-get install podman") });
  });
});
