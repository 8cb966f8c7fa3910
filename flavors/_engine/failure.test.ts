import { describe, expect, test } from "bun:test";
import { ExecError } from "../../src/exec.ts";
import { explainFailure } from "./failure.ts";

const failure = (tail: string[], argv = ["docker", "build", "-"]) => new ExecError({ argv, exitCode: 1, durationMs: 5, tail });

// Lines captured from docker 20.10 (BuildKit and classic), podman 4.3 and buildah 1.28 on this machine.
describe("explainFailure", () => {
  const explain = (tail: string[], phase: "build" | "login" | "push" = "build") =>
    explainFailure(failure(tail), phase, "image 'app'", { engine: 'the Docker daemon at "unix:///x.sock"' }) as ExecError;

  test("a failing RUN: BuildKit, classic, podman/buildah", () => {
    const bk = explain(["------", " > [2/2] RUN echo about to fail && exit 3:", "------", "executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3"]);
    expect(bk.code).toBe("build.step-failed");
    expect(bk.shortMessage).toBe("Build of image 'app' failed: a build step (/bin/sh -c echo about to fail && exit 3) exited with code 3: docker build -");
    expect(bk.message).toContain("\n  executor failed running");
    expect(explain(["about to fail", "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3"]).shortMessage).toContain("exited with code 3");
    const pm = explain(["STEP 2/2: RUN exit 3", 'Error: building at STEP "RUN exit 3": while running runtime: exit status 3']);
    expect(pm.shortMessage).toBe("Build of image 'app' failed: a build step (RUN exit 3) exited with code 3: docker build -");
    expect(explain(['#8 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3']).code).toBe("build.step-failed");
  });

  test("a missing base image, also when the pull fails for lack of network", () => {
    const bk = explain([
      "#3 [internal] load metadata for docker.io/imgb-test/nonexistent:latest",
      " > [internal] load metadata for docker.io/imgb-test/nonexistent:latest:",
      'failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "https://registry-1.docker.io/v2/imgb-test/nonexistent/manifests/latest": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
    ]);
    expect(bk.code).toBe("build.base-image-missing");
    expect(bk.shortMessage).toContain('the base image "docker.io/imgb-test/nonexistent:latest" is not available locally and could not be pulled');
    const classic = explain(["Step 1/2 : FROM imgb-test/nonexistent:latest", 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host']);
    expect(classic.code).toBe("build.base-image-missing");
    expect(classic.shortMessage).toContain('"imgb-test/nonexistent:latest"');
    const pm = explain(['Error: creating build container: short-name "imgb-test/nonexistent:latest" did not resolve to an alias and no unqualified-search registries are defined']);
    expect(pm.code).toBe("build.base-image-missing");
  });

  test("a base-image pull the registry refused is not called missing (the image may exist)", () => {
    const tls = explain([
      "[1/2] STEP 1/3: FROM 127.0.0.1:5001/demo/base@sha256:9c52d73c285359d5b537a2f3593160e3bed4fbf6a34eb6e37c575804665331e2 AS build",
      'Error: creating build container: initializing source docker://127.0.0.1:5001/demo/base@sha256:9c52d73c285359d5b537a2f3593160e3bed4fbf6a34eb6e37c575804665331e2: pinging container registry 127.0.0.1:5001: Get "https://127.0.0.1:5001/v2/": http: server gave HTTP response to HTTPS client',
    ]);
    expect(tls.code).toBe("build.base-image-pull-failed");
    expect(tls.shortMessage).toStartWith('Build of image \'app\' failed: the base image "127.0.0.1:5001/demo/base@sha256:9c52d73c285359d5b537a2f3593160e3bed4fbf6a34eb6e37c575804665331e2" could not be pulled: the engine expected TLS');
    expect(tls.hint).toContain("insecure: true");
    const auth = explain([
      " > [internal] load metadata for 127.0.0.1:5001/base@sha256:cd9f0b37e35fdd7a21fe71749959ec941d9f4ae4044d99ea90b85869333c6649:",
      "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:5001 failed with status code [manifests sha256:cd9f0b37e35fdd7a21fe71749959ec941d9f4ae4044d99ea90b85869333c6649]: 401 Unauthorized",
    ]);
    expect(auth.code).toBe("build.base-image-pull-failed");
    expect(auth.shortMessage).toContain("could not be pulled: the registry refused the pull without valid credentials");
  });

  test("a FROM that succeeded does not count as a missing base image", () => {
    const e = explain(["Step 1/2 : FROM imgb-test/busybox:latest", " ---> 1b16d5e416f6", "Step 2/2 : RUN exit 3", "The command '/bin/sh -c exit 3' returned a non-zero code: 3"]);
    expect(e.code).toBe("build.step-failed");
    const bk = explain(["#3 [internal] load metadata for docker.io/imgb-test/busybox:latest", "#3 DONE 0.0s", "executor failed running [/bin/sh -c exit 3]: exit code: 3"]);
    expect(bk.code).toBe("build.step-failed");
  });

  test("the engine is unreachable", () => {
    for (const line of [
      "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
      "failed to dial gRPC: cannot connect to the Docker daemon. Is 'docker daemon' running on this host?: dial unix /x.sock: connect: no such file or directory",
      "Cannot connect to Podman. Please verify your connection to the Linux system using `podman system connection list`",
    ]) {
      const e = explain([line]);
      expect(e.code).toBe("engine.unreachable");
      expect(e.shortMessage).toBe('Build of image \'app\' failed: the Docker daemon at "unix:///x.sock" is not reachable: docker build -');
    }
  });

  test("registry authentication refused and registry unreachable", () => {
    expect(explain(["login attempt to http://127.0.0.1:5001/v2/ failed with status: 401 Unauthorized"], "login").code).toBe("registry.auth-refused");
    expect(explain(['Error: logging into "127.0.0.1:5001": invalid username/password'], "login").shortMessage).toStartWith("Login to image 'app' failed: the registry refused the credentials");
    expect(explain(['Get "http://127.0.0.1:5009/v2/": dial tcp 127.0.0.1:5009: connect: connection refused'], "push").code).toBe("registry.unreachable");
  });

  test("the Dockerfile is missing", () => {
    const e = explain(["unable to prepare context: unable to evaluate symlinks in Dockerfile path: Cannot locate specified Dockerfile: build/app.Dockerfile"]);
    expect(e.code).toBe("build.dockerfile-missing");
    expect(e.shortMessage).toContain('the Dockerfile "build/app.Dockerfile" is missing from the build context');
  });

  test("unknown output still names the command and exit status; other errors pass through", () => {
    expect(explain(["something odd"], "push").shortMessage).toBe("Push of image 'app' failed: docker build - exited with 1");
    const other = new Error("x");
    expect(explainFailure(other, "build", "image 'app'")).toBe(other);
  });
});
