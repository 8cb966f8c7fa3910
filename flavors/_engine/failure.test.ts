import { describe, expect, test } from "bun:test";
import { ExecError } from "../../src/exec.ts";
import { explainFailure, explainingLines } from "./failure.ts";

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

// The tails below were captured from docker 20.10 (BuildKit, classic) and podman 4.3 on this machine.
describe("explainingLines: the error keeps the lines that explain it, not the log again", () => {
  const run = "RUN echo line one && echo line two && echo about to fail >&2 && exit 3";
  const cmd = "/bin/sh -c echo line one && echo line two && echo about to fail >&2 && exit 3";
  test("BuildKit: the failing step, its output, the final line; no other step, no digests", () => {
    const tail = [
      "#4 [1/2] FROM docker.io/imgb-test/busybox:latest", "#4 sha256:48a74a2409f2c38533a30a0ea01b0d578ff854b00c4abc30894387db1fada0d2", "#4 CACHED", "",
      `#5 [2/2] ${run}`, "#5 sha256:25032c4c509b6bb56f326bfaa81a44d90025d20bd63aa256be98881c6fb7d9e6", "#5 0.059 about to fail", "#5 0.060 line one", "#5 0.060 line two",
      `#5 ERROR: executor failed running [${cmd}]: exit code: 3`, "------", ` > [2/2] ${run}:`, "------", `executor failed running [${cmd}]: exit code: 3`,
    ];
    expect(explainingLines(tail)).toEqual([`#5 [2/2] ${run}`, "#5 0.059 about to fail", "#5 0.060 line one", "#5 0.060 line two", `executor failed running [${cmd}]: exit code: 3`]);
    const e = explainFailure(failure(tail), "build", "image 'app'") as ExecError;
    expect(e.message).not.toContain("#4 ");
    expect(e.message).toContain("\n  #5 0.059 about to fail\n");
  });

  test("a long step output keeps its last lines", () => {
    const out = Array.from({ length: 12 }, (_, i) => `#7 0.${i} out ${i}`);
    const lines = explainingLines(["#7 [3/3] RUN make", ...out, "#7 ERROR: executor failed running [/bin/sh -c make]: exit code: 2", "executor failed running [/bin/sh -c make]: exit code: 2"]);
    expect(lines).toEqual(["#7 [3/3] RUN make", ...out.slice(-6), "executor failed running [/bin/sh -c make]: exit code: 2"]);
  });

  test("classic builder: the last Step, its output (colour codes removed), the final line", () => {
    const tail = ["Sending build context to Docker daemon  3.072kB", "Step 1/2 : FROM imgb-test/busybox:latest", " ---> 46aab4d94022", `Step 2/2 : ${run}`, " ---> Running in 80f1c17c3816", "\x1b[91mabout to fail", "\x1b[0mline one", "line two", `The command '${cmd}' returned a non-zero code: 3`];
    expect(explainingLines(tail)).toEqual([`Step 2/2 : ${run}`, "about to fail", "line one", "line two", `The command '${cmd}' returned a non-zero code: 3`]);
  });

  test("podman and buildah: the last STEP", () => {
    const tail = ["STEP 1/2: FROM imgb-test/busybox:latest", `STEP 2/2: ${run}`, "line one", "line two", "about to fail", `Error: building at STEP "${run}": while running runtime: exit status 3`];
    expect(explainingLines(tail)).toEqual(tail.slice(1));
    expect(explainingLines(["[1/2] STEP 1/1: FROM x AS b", "[2/2] STEP 1/2: FROM y", "[2/2] STEP 2/2: RUN false", "Error: building at STEP \"RUN false\": while running runtime: exit status 1"])).toEqual(["[2/2] STEP 2/2: RUN false", "Error: building at STEP \"RUN false\": while running runtime: exit status 1"]);
  });

  test("no step in the output: the last lines", () => {
    const push = ["The push refers to repository [127.0.0.1:5009/app]", "a1: Preparing", "a2: Preparing", "a3: Preparing", "a4: Preparing", "a5: Preparing", "", "connection refused"];
    expect(explainingLines(push)).toEqual(["a2: Preparing", "a3: Preparing", "a4: Preparing", "a5: Preparing", "connection refused"]);
    expect(explainingLines([])).toEqual([]);
  });
});
