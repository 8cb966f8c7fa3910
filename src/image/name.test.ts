import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Secret } from "../secret.ts";
import { RegistryClient } from "./remote/client.ts";
import { dockerConfigCredentials } from "./remote/docker_config.ts";
import { apiHost, canonicalHost, parseReference } from "./name.ts";
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
