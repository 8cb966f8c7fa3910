/**
 * The `oci` flavor when registries misbehave: unreachable, 401 without credentials (and
 * credentials from the stack or a docker config.json), and a registry killed in the middle of
 * a push. That last one runs its own registry process on 127.0.0.1:5009 (on a private storage
 * directory) behind a TCP relay that counts the bytes sent to it: the registry gets SIGKILL once
 * KILL_AFTER bytes have gone through, which only the big layer's body can reach, so the kill lands
 * mid-upload on any machine, however fast its loopback (a timer after the "uploading" line did
 * not: an upload can finish first). Then it restarts the registry and checks no tag was left
 * behind: blobs go first, the manifest last.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { join } from "node:path";
import { RuntimeError } from "../../src/errors.ts";
import { Secret } from "../../src/secret.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, E2E_TIMEOUT, registryDigest, requireEngine, requireTool, uniqueRepo } from "../helpers/testenv.ts";
import { fixture, ociBuild, pushBase, REGISTRY_BASE } from "./_oci_e2e.ts";
import { cleanupTempDirs } from "../helpers/tmp.ts";

const OWN_REGISTRY = "127.0.0.1:5009";
const KILL_AFTER = 8 << 20; // bytes through the relay: far more than every request but the big layer
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

/**
 * A TCP relay to OWN_REGISTRY on an ephemeral loopback port that calls `onBytes(total)` with the
 * running count of bytes clients sent through it. When the registry goes, its connections close
 * and the relay closes the client's side: the client sees the registry die mid-request.
 */
async function relay(onBytes: (total: number) => void): Promise<{ host: string; close: () => Promise<void> }> {
  const [host, port] = OWN_REGISTRY.split(":") as [string, string];
  let total = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), host);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on("error", end).on("close", end);
    client.on("data", (chunk: Buffer) => onBytes((total += chunk.length)));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port: own } = server.address() as { port: number };
  return { host: `127.0.0.1:${own}`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

describe.skipIf(!(await requireTool("docker-registry")))("oci flavor: registry killed mid-push", () => {
  test("clear error, and no tag left pointing at a broken manifest", async () => {
    const big = new Uint8Array(96 << 20);
    for (let o = 0; o < big.length; o += 1 << 16) randomFillSync(big, o, 1 << 16); // incompressible: a long upload
    const root = make({ Dockerfile: "FROM scratch\nCOPY small /small\nCOPY big /big\n", small: "small\n", big });
    const storage = make({});
    let registry = startRegistry(storage);
    let killedAt = 0;
    const logs: string[] = [];
    const front = await relay((total) => {
      if (!killedAt && total > KILL_AFTER) {
        killedAt = total;
        registry.proc.kill(9);
      }
    });
    try {
      await registry.ready;
      const err = (await ociBuild(root, "victim:v1", { compression_level: 1 }, { uri: front.host, insecure: true }, {}, undefined, (l) => logs.push(l)).catch((e) => e)) as RuntimeError;
      // What happened, in one place, if anything below fails.
      const seen = { killedAt, code: err?.code, message: err instanceof Error ? err.message : String(err), logs };
      expect(seen.killedAt, JSON.stringify(seen)).toBeGreaterThan(KILL_AFTER);
      expect(logs.some((l) => l.startsWith("uploading") && l.includes("MiB")), JSON.stringify(seen)).toBe(true);
      expect(err, JSON.stringify(seen)).toBeInstanceOf(RuntimeError);
      expect(["registry.connection", "registry.unreachable", "registry.failed"], JSON.stringify(seen)).toContain(err.code);
      expect(err.message).toStartWith(`Registry ${front.host} `);
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
      await front.close();
    }
  }, E2E_TIMEOUT);
});
