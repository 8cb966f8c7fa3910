/**
 * Registry faults found before anything is built (issue #11, item 7): a wrong password and a
 * registry that is down fail in seconds with one line and exit 1, and no engine build runs
 * (a docker wrapper logs every CLI call). The probe itself is checked against the real auth
 * registry on 127.0.0.1:5001 (htpasswd, Basic) with right and wrong passwords. A registry that
 * dies in the middle of a push (a proxy in front of the real one, stopped with its connections
 * cut at the first blob upload) is one line, exit 1, and leaves no tag behind.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { probeRegistry } from "../../src/orchestrate/registry_probe.ts";
import { RuntimeError } from "../../src/errors.ts";
import { Secret } from "../../src/secret.ts";
import { runImgb } from "../helpers/binary.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, REGISTRY, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const WRONG = "definitely-not-the-password";
const auth = (password: string): ContainerRegistry => ({ uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(password, "test") } });
const never = new AbortController().signal;

/** A stack whose docker CLI is a wrapper that logs each subcommand; returns how to run it. */
function stack(registry: string, credentials: boolean) {
  const dir = tempDir("imgb-regfault-");
  const log = join(dir, "calls.log");
  writeTree(dir, {
    "docker-wrapper": `#!/bin/sh\necho "$1" >> ${log}\nexec ${DOCKER_CLI} "$@"\n`,
    "imgb.yaml": `image_builder: { flavor: docker, config: { binary: ${join(dir, "docker-wrapper")}, host: "${DOCKER_HOST}" } }
container_registry:
  uri: ${registry}
${credentials ? `  credentials: { username: ${AUTH_USER}, password_env: REG_PASSWORD }\n` : ""}images:
  ${uniqueRepo("probe")}: { context: ctx, network: none }
`,
    "ctx/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY a /a\n`,
    "ctx/a": "a\n",
  });
  chmodSync(join(dir, "docker-wrapper"), 0o755);
  const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []);
  const run = (password?: string) => runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1", REG_PASSWORD: password } });
  return { run, calls };
}

/** The error line of a failed run: exactly one `error:` line, no stack trace. */
function errorLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.startsWith("error:"));
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  return lines[0]!;
}

describe.skipIf(!(await requireEngine("auth-registry")))("registry probe (auth registry)", () => {
  test("right credentials pass, wrong ones are one clear RuntimeError without the password", async () => {
    await probeRegistry(auth(AUTH_PASSWORD), never);
    const e = (await probeRegistry(auth(WRONG), never).catch((x) => x)) as RuntimeError;
    expect(e).toBeInstanceOf(RuntimeError);
    expect(e.code).toBe("registry.unauthorized");
    expect(e.message).toContain(`Registry ${AUTH_REGISTRY} refused GET http://${AUTH_REGISTRY}/v2/: HTTP 401`);
    expect(e.message).toEndWith("(checked before building: nothing was built)");
    expect(e.hint).toContain(`'${AUTH_USER}'`);
    expect(`${e.message} ${e.hint} ${JSON.stringify(e)}`).not.toContain(WRONG);
  });

  test("without credentials only reachability is checked (the engine may have its own login)", async () => {
    await probeRegistry({ uri: AUTH_REGISTRY, insecure: true }, never);
  });
});

describe("registry probe (a registry that never answers)", () => {
  test("a hung registry is one clear error after the timeout, not a hang", async () => {
    const hung = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const started = performance.now();
      const e = (await probeRegistry({ uri: `127.0.0.1:${hung.port}`, insecure: true }, never, 300).catch((x) => x)) as RuntimeError;
      expect(e).toBeInstanceOf(RuntimeError);
      expect(e.code).toBe("registry.unreachable");
      expect(e.message).toBe(`Registry 127.0.0.1:${hung.port} did not answer GET /v2/ within 0.3 s (checked before building: nothing was built)`);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      hung.stop(true);
    }
  });
});

describe.skipIf(!(await requireEngine("docker", "auth-registry")))("registry faults before the build (imgb build, docker)", () => {
  test("wrong password: exit 1 in seconds, one line, nothing built", async () => {
    const s = stack(AUTH_REGISTRY, true);
    const started = performance.now();
    const r = await s.run(WRONG);
    const seconds = (performance.now() - started) / 1000;
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toContain(`Registry ${AUTH_REGISTRY} refused GET http://${AUTH_REGISTRY}/v2/: HTTP 401`);
    expect(r.stderr).not.toContain(WRONG);
    expect(r.stdout).toBe("");
    expect(s.calls()).not.toContain("build");
    expect(seconds).toBeLessThan(10);
  }, E2E_TIMEOUT);

  test("registry down: exit 1, one line naming it, nothing built", async () => {
    const s = stack("127.0.0.1:9", false);
    const r = await s.run();
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toContain("Registry 127.0.0.1:9 is not reachable: GET http://127.0.0.1:9/v2/ failed");
    expect(s.calls()).toEqual([]);
  }, E2E_TIMEOUT);

  test("right password: the probe lets the build through", async () => {
    const s = stack(AUTH_REGISTRY, true);
    const r = await s.run(AUTH_PASSWORD);
    expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
    expect(s.calls()).toContain("build");
  }, E2E_TIMEOUT);
});

/** A proxy to the real registry that dies (listener and open connections) at the first blob upload PUT. */
function dyingRegistry() {
  let died = false;
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "PUT" && url.pathname.includes("/blobs/uploads/")) {
        died = true;
        server.stop(true);
        return new Promise<Response>(() => {}); // never answered: the connection is cut
      }
      const res = await fetch(`http://${REGISTRY}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.body, redirect: "manual" });
      const headers = new Headers(res.headers);
      const location = headers.get("location");
      if (location) headers.set("location", location.replace(`http://${REGISTRY}`, `http://127.0.0.1:${server.port}`));
      return new Response(res.body, { status: res.status, headers });
    },
  });
  return { host: `127.0.0.1:${server.port}`, died: () => died };
}

describe.skipIf(!(await requireEngine("registry")))("registry killed mid-push (imgb build, oci flavor)", () => {
  test("one line, exit 1, and no tag in the registry", async () => {
    const reg = dyingRegistry();
    const repo = uniqueRepo("dies");
    const dir = tempDir("imgb-dies-");
    writeTree(dir, {
      "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${reg.host} }\nimages:\n  ${repo}: { context: ctx, tags: [v1] }\n`,
      "ctx/Dockerfile": "FROM scratch\nCOPY a /a\n",
      "ctx/a": `${repo}\n`,
    });
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } });
    expect(reg.died()).toBe(true);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe(`error: 1 of 1 images failed: ${repo}`);
    expect(r.stderr).toMatch(new RegExp(`${reg.host.replace(/\./g, "\\.")} (dropped the connection|is not reachable)`));
    expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(r.stdout).toBe("");
    const head = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/v1`, { method: "HEAD" });
    expect(head.status).toBe(404);
  }, E2E_TIMEOUT);
});
