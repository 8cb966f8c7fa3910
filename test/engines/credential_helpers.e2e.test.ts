/**
 * Credentials the way users have them: the base image lives in the htpasswd registry
 * (127.0.0.1:5001) and only the user's credential helper (docker-credential-imgbtest, speaking
 * the real protocol, named in `credHelpers` of $DOCKER_CONFIG/config.json) can open it; the image
 * is pushed to the other registry (127.0.0.1:5000) with the stack's credentials. Every engine
 * (docker, podman, buildah) and the oci flavor must pull the base through the helper — the
 * stack's login must not hide the user's config — and no process's argv ever holds the password.
 * Reuse verification and the podman --remote digest lookup go through the helper too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { RuntimeError } from "../../src/errors.ts";
import { Secret } from "../../src/secret.ts";
import { registryHasManifest } from "../../src/orchestrate/reuse.ts";
import { registryManifestDigest } from "../../flavors/_containers/registry_digest.ts";
import { MANIFEST_ACCEPT } from "../../src/image/image.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { useHelper, type TestHelper } from "../helpers/credential_helper.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { watchProcesses } from "./_proc_watch.ts";
import { build } from "./_scenario.ts";
import { ociBuild, pushBase, REGISTRY_BASE } from "../oci/_oci_e2e.ts";

const ready = await requireEngine("docker", "registry", "auth-registry");
const BASE_REPO = "imgb-e2e/helper-base";
const BASE = `${AUTH_REGISTRY}/${BASE_REPO}:v1`;
const basic = { user: AUTH_USER, password: AUTH_PASSWORD };
let helper: TestHelper;
let baseDiffIds: string[] = [];

/** The config's rootfs.diff_ids of `repo:tag` (a single-platform manifest), read from the registry. */
async function diffIds(registry: string, repo: string, tag: string, auth?: typeof basic): Promise<string[]> {
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT, ...(auth ? { Authorization: `Basic ${btoa(`${auth.user}:${auth.password}`)}` } : {}) };
  const manifest = (await (await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, { headers })).json()) as { config: { digest: string } };
  const config = (await (await fetch(`http://${registry}/v2/${repo}/blobs/${manifest.config.digest}`, { headers })).json()) as { rootfs: { diff_ids: string[] } };
  return config.rootfs.diff_ids;
}

beforeAll(async () => {
  if (!ready) return;
  // The base goes into 5001 with a throwaway static login, then the local tag goes: engines must pull it.
  const pushConfig = tempDir("imgb-helper-push-");
  writeFileSync(join(pushConfig, "config.json"), JSON.stringify({ auths: { [AUTH_REGISTRY]: { auth: btoa(`${AUTH_USER}:${AUTH_PASSWORD}`) } } }));
  const docker = (...a: string[]) => exec([DOCKER_CLI, "--config", pushConfig, "-H", DOCKER_HOST, ...a]);
  await docker("tag", BASE_IMAGE, BASE);
  await docker("push", BASE);
  await docker("rmi", BASE);
  baseDiffIds = await diffIds(AUTH_REGISTRY, BASE_REPO, "v1", basic);
  helper = useHelper(tempDir("imgb-helper-"), AUTH_REGISTRY, AUTH_USER, AUTH_PASSWORD);
  // A plain-HTTP registry that is not the stack's: podman and buildah need it in registries.conf,
  // as a user with such a registry has it (imgb gives --tls-verify=false to the stack's only).
  const conf = join(helper.dir, "registries.conf");
  writeFileSync(conf, `${readFileSync("/etc/containers/registries.conf", "utf8")}\n[[registry]]\nlocation = "${AUTH_REGISTRY}"\ninsecure = true\n`);
  process.env.CONTAINERS_REGISTRIES_CONF = conf;
}, E2E_TIMEOUT);
afterAll(() => {
  delete process.env.CONTAINERS_REGISTRIES_CONF;
  helper?.restore();
  cleanupTempDirs();
});

const fixture = () => {
  const root = tempDir("imgb-helper-ctx-");
  writeTree(root, { Dockerfile: `FROM ${BASE}\nCOPY a /a\nRUN cat /a > /copied\n`, a: `${Date.now()}\n` });
  return root;
};
/** Stack credentials for the push registry (5000 accepts any login): the engines log in to it privately. */
const pushRegistry = () => ({ uri: REGISTRY, insecure: true, credentials: { username: "stack-user", password: new Secret("stack-push-password", "test") } });

/** Runs `fn` while watching every argv for the helper's password and the stack's. */
async function noSecretInArgv<T>(fn: () => Promise<T>): Promise<T> {
  const watch = await watchProcesses({ argv: [AUTH_PASSWORD, "stack-push-password", "stack-env-password-4711"] });
  let out: T;
  try {
    out = await fn();
  } finally {
    const hits = await watch.stop();
    expect(hits).toEqual([]);
  }
  return out;
}

const engines = [
  { label: "docker", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, needs: "docker" },
  { label: "podman", flavor: "podman", config: { binary: "podman", layers: true }, needs: "podman" },
  { label: "buildah", flavor: "buildah", config: { binary: "buildah", layers: true, format: "oci" }, needs: "buildah" },
] as const;

for (const e of engines) {
  describe.skipIf(!(await requireEngine("docker", "registry", "auth-registry", e.needs)))(`${e.label}: base from the user's credential helper, push with the stack's credentials`, () => {
    test("the engine pulls the base through docker-credential-imgbtest and pushes the image built on it", async () => {
      helper.setMode("ok");
      const before = helper.asked().length;
      const repo = uniqueRepo(`helper-${e.label}`);
      const { ref } = await noSecretInArgv(() => build(e.flavor, e.config, fixture(), repo, { pull: true, noCache: true }, pushRegistry()));
      expect(ref).toBe(`${REGISTRY}/${repo}@${await registryDigest(REGISTRY, repo, "latest")}`);
      const ids = await diffIds(REGISTRY, repo, "latest");
      expect(ids.slice(0, baseDiffIds.length)).toEqual(baseDiffIds); // built on the base from 5001
      expect(ids.length).toBeGreaterThan(baseDiffIds.length);
      expect(helper.asked().slice(before)).toContain(AUTH_REGISTRY); // the engine asked the user's helper
    }, E2E_TIMEOUT);
  });
}

for (const e of engines.filter((x) => x.flavor !== "docker")) {
  describe.skipIf(!(await requireEngine("docker", "registry", "auth-registry", e.needs)))(`${e.label}: the private authfile keeps the user's helper`, () => {
    test("every FROM is in the stack's registry (the build gets --authfile), a COPY --from image needs the user's helper from $REGISTRY_AUTH_FILE", async () => {
      await pushBase();
      // The helper named where `podman login` users have their logins: the primary auth file, which --authfile replaces.
      const authFile = join(helper.dir, "auth.json");
      writeFileSync(authFile, JSON.stringify({ credHelpers: { [AUTH_REGISTRY]: "imgbtest" } }));
      const dockerConfig = join(helper.dockerConfigDir, "config.json");
      const saved = readFileSync(dockerConfig, "utf8");
      writeFileSync(dockerConfig, "{}");
      process.env.REGISTRY_AUTH_FILE = authFile;
      try {
      await exec([e.config.binary, "rmi", "-f", BASE]).catch(() => {}); // a COPY --from image in local storage is not pulled again
      helper.setMode("ok");
      const before = helper.asked().length;
      const repo = uniqueRepo(`helper-authfile-${e.label}`);
      const root = tempDir("imgb-helper-ctx-");
      writeTree(root, { Dockerfile: `FROM ${REGISTRY_BASE}\nCOPY --from=${BASE} /bin/busybox /bb\n` });
      const { ref } = await noSecretInArgv(() => build(e.flavor, e.config, root, repo, { pull: true, noCache: true }, pushRegistry()));
      expect(ref).toBe(`${REGISTRY}/${repo}@${await registryDigest(REGISTRY, repo, "latest")}`);
      expect((await diffIds(REGISTRY, repo, "latest")).length).toBe(baseDiffIds.length + 1);
      expect(helper.asked().slice(before)).toContain(AUTH_REGISTRY);
      } finally {
        delete process.env.REGISTRY_AUTH_FILE;
        writeFileSync(dockerConfig, saved);
      }
    }, E2E_TIMEOUT);
  });
}

describe.skipIf(!ready)("oci flavor and the registry client through the helper", () => {
  test("oci: pulls the base from 5001 via the helper (asked once), pushes to 5000", async () => {
    helper.setMode("ok");
    const before = helper.asked().length;
    const repo = uniqueRepo("helper-oci");
    const root = tempDir("imgb-helper-oci-");
    writeTree(root, { Dockerfile: `FROM ${BASE}\nCOPY a /a\n`, a: "a\n" });
    const { ref } = await noSecretInArgv(() => ociBuild(root, repo, {}, { uri: REGISTRY, insecure: true }));
    expect(ref).toBe(`${REGISTRY}/${repo}@${await registryDigest(REGISTRY, repo, "latest")}`);
    expect((await diffIds(REGISTRY, repo, "latest")).slice(0, baseDiffIds.length)).toEqual(baseDiffIds);
    expect(helper.asked().slice(before)).toEqual([AUTH_REGISTRY]);
  }, E2E_TIMEOUT);

  test("oci with stack credentials for the push registry: the helper's environment does not carry the stack's password", async () => {
    helper.setMode("ok");
    const root = tempDir("imgb-helper-oci-");
    writeTree(root, { Dockerfile: `FROM ${BASE}\nCOPY a /a\n`, a: "b\n" });
    const stackPassword = "stack-env-password-4711";
    process.env.IMGB_TEST_STACK_PASSWORD = stackPassword; // as password_env leaves it in imgb's environment
    const before = helper.asked().length;
    try {
      const registry = { uri: REGISTRY, insecure: true, credentials: { username: "u", password: new Secret(stackPassword, "env IMGB_TEST_STACK_PASSWORD") } };
      await noSecretInArgv(() => ociBuild(root, uniqueRepo("helper-oci-env"), {}, registry));
    } finally {
      delete process.env.IMGB_TEST_STACK_PASSWORD;
    }
    expect(helper.asked().slice(before)).toEqual([AUTH_REGISTRY]);
    const env = helper.lastEnv();
    expect(env.filter((l) => l.includes(stackPassword))).toEqual([]);
    expect(env).toContain(`HOME=${process.env.HOME}`); // the rest of the environment, as docker gives it
  }, E2E_TIMEOUT);

  test("oci: a failing helper is one clear line; 'not found' is anonymous and the 401 says so", async () => {
    const root = tempDir("imgb-helper-oci-");
    writeTree(root, { Dockerfile: `FROM ${BASE}\nCOPY a /a\n`, a: "a\n" });
    helper.setMode("fail");
    const failed = (await ociBuild(root, uniqueRepo("helper-oci-fail"), {}, { uri: REGISTRY, insecure: true }).catch((x) => x)) as RuntimeError;
    expect(failed.code).toBe("registry.credential-helper");
    expect(failed.message).toBe(`Credential helper 'docker-credential-imgbtest' failed with exit code 3: starting the keyring / gpg: decryption failed: No secret key (asked for ${AUTH_REGISTRY})`);
    helper.setMode("notfound");
    const anonymous = (await ociBuild(root, uniqueRepo("helper-oci-anon"), {}, { uri: REGISTRY, insecure: true }).catch((x) => x)) as RuntimeError;
    expect(anonymous.code).toBe("registry.unauthorized");
    expect(anonymous.message).toContain(`Registry ${AUTH_REGISTRY} requires authentication`);
    expect(anonymous.message).toContain("docker-credential-imgbtest: credentials not found");
    helper.setMode("ok");
  }, E2E_TIMEOUT);

  test("reuse verification and the podman --remote digest lookup use the helper for a stack registry without credentials", async () => {
    helper.setMode("ok");
    const registry = { uri: AUTH_REGISTRY, insecure: true };
    const digest = await registryDigest(AUTH_REGISTRY, BASE_REPO, "v1", basic);
    const signal = new AbortController().signal;
    expect(await registryHasManifest(registry, `${AUTH_REGISTRY}/${BASE_REPO}@${digest}`, digest, signal)).toBe(true);
    expect(await registryManifestDigest(registry, `${AUTH_REGISTRY}/${BASE_REPO}`, "v1", signal)).toBe(digest);
    helper.setMode("notfound"); // anonymous: cannot verify, so build
    expect(await registryHasManifest(registry, `${AUTH_REGISTRY}/${BASE_REPO}@${digest}`, digest, signal)).toBe(false);
    helper.setMode("fail"); // a broken helper is said, not taken for "gone"
    const err = (await registryHasManifest(registry, `${AUTH_REGISTRY}/${BASE_REPO}@${digest}`, digest, signal).catch((x) => x)) as RuntimeError;
    expect(err.code).toBe("registry.credential-helper");
    helper.setMode("ok");
  }, E2E_TIMEOUT);
});
