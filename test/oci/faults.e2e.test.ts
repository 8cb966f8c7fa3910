/**
 * The `oci` flavor when registries misbehave: unreachable, 401 without credentials (and
 * credentials from the stack or a docker config.json), and a registry killed in the middle of
 * a push. That last one runs its own registry process on 127.0.0.1:5009 (on a private storage
 * directory), kills it while a layer uploads, restarts it, and checks no tag was left behind:
 * blobs go first, the manifest last.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "../../src/errors.ts";
import { Secret } from "../../src/secret.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, E2E_TIMEOUT, registryDigest, requireEngine, requireTool, uniqueRepo } from "../helpers/testenv.ts";
import { fixture, ociBuild, pushBase, REGISTRY_BASE } from "./_oci_e2e.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const OWN_REGISTRY = "127.0.0.1:5009";
const make = fixture;
afterAll(cleanupTempDirs);

const small = () => make({ Dockerfile: "FROM scratch\nCOPY a /a\n", a: `${Date.now()}\n` });

describe("oci flavor: registry faults", () => {
  test("registry unreachable: a clear error with the URL", async () => {
    const err = (await ociBuild(small(), "app", {}, { uri: "127.0.0.1:9", insecure: true }).catch((e) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.code).toBe("registry.unreachable");
    expect(err.message).toStartWith("Registry 127.0.0.1:9 is not reachable: HEAD http://127.0.0.1:9/v2/app/blobs/sha256:");
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("auth-registry")))("oci flavor: authentication", () => {
  test("401 without credentials; the stack's credentials and a docker config.json both work", async () => {
    const root = small();
    const repo = uniqueRepo("oci-auth");
    const err = (await ociBuild(root, repo, { docker_config: join(root, "none.json") }, { uri: AUTH_REGISTRY, insecure: true }).catch((e) => e)) as RuntimeError;
    expect(err.code).toBe("registry.unauthorized");
    expect(err.message).toContain(`Registry ${AUTH_REGISTRY} requires authentication`);

    const wrong = { uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret("not-the-password", "test") } };
    const refused = (await ociBuild(root, repo, {}, wrong).catch((e) => e)) as RuntimeError;
    expect(refused.code).toBe("registry.unauthorized");
    expect(refused.message).not.toContain("not-the-password");

    const stackCreds = { uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(AUTH_PASSWORD, "test") } };
    const { ref } = await ociBuild(root, repo, {}, stackCreds);
    const basic = { user: AUTH_USER, password: AUTH_PASSWORD };
    expect(ref).toBe(`${AUTH_REGISTRY}/${repo}@${await registryDigest(AUTH_REGISTRY, repo, "latest", basic)}`);

    const config = join(root, "config.json");
    writeFileSync(config, JSON.stringify({ auths: { [AUTH_REGISTRY]: { auth: btoa(`${AUTH_USER}:${AUTH_PASSWORD}`) } } }));
    const viaConfig = await ociBuild(root, `${repo}:cfg`, { docker_config: config }, { uri: AUTH_REGISTRY, insecure: true });
    expect(viaConfig.ref).toBe(ref.replace(":latest", ""));
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("docker", "registry", "auth-registry")))("oci flavor: base image on another registry", () => {
  test("base layers are copied across registries (downloaded, verified, uploaded)", async () => {
    await pushBase();
    const root = make({ Dockerfile: `FROM ${REGISTRY_BASE}\nCOPY a /a\n`, a: "a\n" });
    const repo = uniqueRepo("oci-cross");
    const creds = { uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(AUTH_PASSWORD, "test") } };
    const { ref, logs } = await ociBuild(root, repo, {}, creds);
    expect(ref).toBe(`${AUTH_REGISTRY}/${repo}@${await registryDigest(AUTH_REGISTRY, repo, "latest", { user: AUTH_USER, password: AUTH_PASSWORD })}`);
    expect(logs.filter((l) => l.startsWith("uploading"))).toHaveLength(3); // base layer, our layer, config
    expect(logs.some((l) => l.startsWith("mounted"))).toBe(false);
  }, E2E_TIMEOUT);
});

/** Our own registry process on OWN_REGISTRY, storage kept across restarts. */
function startRegistry(dir: string) {
  const config = join(dir, "registry.yml");
  writeFileSync(config, `version: 0.1\nlog: { level: error }\nstorage:\n  filesystem: { rootdirectory: ${dir}/storage }\nhttp:\n  addr: ${OWN_REGISTRY}\n  secret: imgb-oci-fault\n`);
  const proc = Bun.spawn(["docker-registry", "serve", config], { stdout: "ignore", stderr: "ignore" });
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await fetch(`http://${OWN_REGISTRY}/v2/`).then((r) => r.ok, () => false)) return;
      await Bun.sleep(100);
    }
    throw new Error(`docker-registry on ${OWN_REGISTRY} did not start`);
  })();
  return { proc, ready };
}

describe.skipIf(!(await requireTool("docker-registry")))("oci flavor: registry killed mid-push", () => {
  test("clear error, and no tag left pointing at a broken manifest", async () => {
    const big = new Uint8Array(96 << 20);
    for (let o = 0; o < big.length; o += 1 << 16) randomFillSync(big, o, 1 << 16); // incompressible: a long upload
    const root = make({ Dockerfile: "FROM scratch\nCOPY small /small\nCOPY big /big\n", small: "small\n", big });
    const storage = make({});
    let registry = startRegistry(storage);
    try {
      await registry.ready;
      let killed = false;
      const onLog = (line: string) => {
        if (!killed && line.startsWith("uploading") && line.includes("MiB")) {
          killed = true;
          setTimeout(() => registry.proc.kill(9), 30);
        }
      };
      const err = (await ociBuild(root, "victim:v1", { compression_level: 1 }, { uri: OWN_REGISTRY, insecure: true }, {}, undefined, onLog).catch((e) => e)) as RuntimeError;
      expect(killed).toBe(true);
      expect(err).toBeInstanceOf(RuntimeError);
      expect(["registry.connection", "registry.unreachable", "registry.failed"]).toContain(err.code);
      expect(err.message).toStartWith(`Registry ${OWN_REGISTRY} `);
      expect(err.message).not.toContain("verbose");
      await registry.proc.exited;

      registry = startRegistry(storage);
      await registry.ready;
      const head = await fetch(`http://${OWN_REGISTRY}/v2/victim/manifests/v1`, { method: "HEAD" });
      expect(head.status).toBe(404);
      // The same build pushed again succeeds: nothing half-written is in the way.
      const { ref } = await ociBuild(root, "victim:v1", { compression_level: 1 }, { uri: OWN_REGISTRY, insecure: true });
      expect(ref).toBe(`${OWN_REGISTRY}/victim@${await registryDigest(OWN_REGISTRY, "victim", "v1")}`);
    } finally {
      registry.proc.kill(9);
      await registry.proc.exited;
    }
  }, E2E_TIMEOUT);
});
