import { describe, expect, test } from "bun:test";
import { engineEnvironment, isEngineVariable } from "./_engine_env.ts";

describe("engine environment", () => {
  test("keeps what engines read, drops everything else", () => {
    const env = {
      PATH: "/bin", HOME: "/root", LC_ALL: "C", XDG_RUNTIME_DIR: "/run/user/0", DOCKER_HOST: "unix:///d.sock",
      CONTAINERS_REGISTRIES_CONF: "/r.conf", REGISTRY_AUTH_FILE: "/a.json", https_proxy: "http://p:3128", SSH_AUTH_SOCK: "/s",
      REGISTRY_PASSWORD: "pw", DOCKER_PASSWORD: "pw2", AWS_SECRET_ACCESS_KEY: "k", GITHUB_TOKEN: "t", IMGB_HOME: "/h",
    };
    expect(Object.keys(engineEnvironment(env)).sort()).toEqual(
      ["CONTAINERS_REGISTRIES_CONF", "DOCKER_HOST", "HOME", "LC_ALL", "PATH", "REGISTRY_AUTH_FILE", "SSH_AUTH_SOCK", "XDG_RUNTIME_DIR", "https_proxy"],
    );
    expect(isEngineVariable("DOCKER_PASSWORD")).toBe(false);
  });

  test("overrides win and undefined removes; an allowed name holding a secret is dropped", () => {
    const out = engineEnvironment({ PATH: "/bin", DOCKER_HOST: "a", PODMAN_PW: "xx-secret-xx" }, { DOCKER_HOST: undefined, DOCKER_BUILDKIT: "1" }, ["secret", ""]);
    expect(out).toEqual({ PATH: "/bin", DOCKER_BUILDKIT: "1" });
  });
});
