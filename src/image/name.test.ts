import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Secret } from "../secret.ts";
import { RegistryClient } from "./remote/client.ts";
import { dockerConfigCredentials } from "./remote/docker_config.ts";
import { apiHost, canonicalHost, inRegistry, isLoopback, parseReference, registryHost, sameHost, splitReference, stripTag, tagOf, targetRepository } from "./name.ts";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";

afterAll(cleanupTempDirs);

// name -> [host in the reference, repository, URL the distribution API is asked at]
const table: [string, string, string, string][] = [
  ["busybox", "docker.io", "library/busybox", "https://registry-1.docker.io"],
  ["busybox:1.36", "docker.io", "library/busybox", "https://registry-1.docker.io"],
  ["docker.io/busybox", "docker.io", "library/busybox", "https://registry-1.docker.io"],
  ["docker.io/library/busybox", "docker.io", "library/busybox", "https://registry-1.docker.io"],
  ["index.docker.io/busybox", "docker.io", "library/busybox", "https://registry-1.docker.io"],
  ["registry-1.docker.io/acme/app", "docker.io", "acme/app", "https://registry-1.docker.io"],
  ["acme/app:v1", "docker.io", "acme/app", "https://registry-1.docker.io"],
  ["ghcr.io/acme/app", "ghcr.io", "acme/app", "https://ghcr.io"],
  ["registry.example.com:5000/app", "registry.example.com:5000", "app", "https://registry.example.com:5000"],
  ["localhost/app", "localhost", "app", "http://localhost"],
  ["localhost:5000/team/app:v2", "localhost:5000", "team/app", "http://localhost:5000"],
  ["127.0.0.1:5000/app", "127.0.0.1:5000", "app", "http://127.0.0.1:5000"],
];

describe("image name -> registry endpoint", () => {
  for (const [name, host, repository, base] of table) {
    test(name, () => {
      const ref = parseReference(name);
      expect({ host: ref.host, repository: ref.repository }).toEqual({ host, repository });
      expect(new RegistryClient(ref.host).base).toBe(base);
    });
  }

  test("Hub aliases are one host; others are left alone", () => {
    expect(["docker.io", "index.docker.io", "registry-1.docker.io", "INDEX.docker.io"].map(canonicalHost)).toEqual(Array(4).fill("docker.io"));
    expect(apiHost("docker.io")).toBe("registry-1.docker.io");
    expect(apiHost("quay.io")).toBe("quay.io");
    expect(canonicalHost("mydocker.io")).toBe("mydocker.io");
  });

  test("Hub credentials are found under https://index.docker.io/v1/, as docker login writes them", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: btoa("hubuser:hubpass") } } }));
    for (const host of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
      const found = dockerConfigCredentials(path, host).credentials;
      expect(found?.username).toBe("hubuser");
      expect(found?.password).toBeInstanceOf(Secret);
      expect(found!.password.reveal()).toBe("hubpass");
    }
    expect(dockerConfigCredentials(path, "ghcr.io").credentials).toBeUndefined();
  });
});

describe("names as written and the stack registry's names", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  test("splitReference: a port is not a tag; the digest comes apart", () => {
    expect(splitReference("app")).toEqual({ name: "app" });
    expect(splitReference("app:v1")).toEqual({ name: "app", tag: "v1" });
    expect(splitReference("127.0.0.1:5000/app")).toEqual({ name: "127.0.0.1:5000/app" });
    expect(splitReference(`127.0.0.1:5000/team/app:v2@${digest}`)).toEqual({ name: "127.0.0.1:5000/team/app", tag: "v2", digest });
    expect(stripTag(`host:5000/app@${digest}`)).toBe("host:5000/app");
    expect([tagOf("app"), tagOf("app:v1"), tagOf("host:5000/app"), tagOf(`host:5000/app:v2@${digest}`)]).toEqual(["latest", "v1", "latest", "v2"]);
  });

  test("registryHost and targetRepository from a ContainerRegistry uri", () => {
    expect(registryHost({ uri: "127.0.0.1:5000/team" })).toBe("127.0.0.1:5000");
    expect(registryHost({ uri: "https://ghcr.io/acme" })).toBe("ghcr.io");
    expect(targetRepository({ uri: "127.0.0.1:5000/team/", insecure: true }, "app:dev")).toBe("127.0.0.1:5000/team/app");
    expect(targetRepository({ uri: "ghcr.io/acme", repository: "all", insecure: false }, "app")).toBe("ghcr.io/acme/all");
  });

  test("inRegistry: the parsed name when it is in the registry (Hub aliases are one host), else undefined", () => {
    expect(inRegistry({ uri: "127.0.0.1:5000/team" }, "127.0.0.1:5000/team/app:v1")).toEqual({ host: "127.0.0.1:5000", repository: "team/app", tag: "v1" });
    expect(inRegistry({ uri: "index.docker.io/acme" }, "acme/app")?.repository).toBe("acme/app");
    expect(inRegistry({ uri: "127.0.0.1:5000" }, "127.0.0.1:5001/app")).toBeUndefined();
    expect(inRegistry({ uri: "127.0.0.1:5000" }, "127.0.0.1:5000/Not Valid")).toBeUndefined();
    expect(sameHost("registry-1.docker.io", "docker.io") && !sameHost("127.0.0.1:5000", "127.0.0.1:5001")).toBe(true);
    expect(isLoopback("127.0.0.1:5000") && isLoopback("localhost") && isLoopback("[::1]:5000") && !isLoopback("ghcr.io")).toBe(true);
  });
});
