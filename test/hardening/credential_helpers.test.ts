/**
 * A user's credential helper that misbehaves, seen from the command line: `imgb build` (oci
 * flavor, a base in the htpasswd registry 127.0.0.1:5001 that only the helper can open) fails
 * with one line and exit 1 that names the helper, never printing what the helper answered. A
 * helper that has no credentials for the registry is anonymous, and the 401 says where imgb looked.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, E2E_TIMEOUT, REGISTRY, requireEngine } from "../helpers/testenv.ts";
import { useHelper, type HelperMode, type TestHelper } from "../helpers/credential_helper.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { expectCleanFailure } from "./_harness.ts";

let helper: TestHelper | undefined;
afterEach(() => {
  helper?.restore();
  helper = undefined;
});
afterAll(cleanupTempDirs);

/** A stack building FROM an image in 5001 (it need not exist: the 401 comes first), pushing to 5000. */
function stack(): string {
  const dir = tempDir("imgb-helper-hard-");
  writeTree(dir, {
    "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${REGISTRY} }\nimages:\n  app: { context: ctx }\n`,
    "ctx/Dockerfile": `FROM ${AUTH_REGISTRY}/imgb-e2e/helper-hardening:v1\nCOPY a /a\n`,
    "ctx/a": "a\n",
  });
  return dir;
}

async function failWith(mode: HelperMode | "missing", secret = AUTH_PASSWORD) {
  const dir = stack();
  helper = useHelper(tempDir("imgb-helper-"), AUTH_REGISTRY, AUTH_USER, secret);
  if (mode !== "missing") helper.setMode(mode);
  const env = { ...helper.env, IMGB_HOME: tempDir("imgb-home-"), ...(mode === "missing" ? { PATH: process.env.PATH!.split(":").filter((p) => !p.startsWith(helper!.dir)).join(":") } : {}) };
  return expectCleanFailure({ args: ["build", "--progress", "plain", "-f", join(dir, "imgb.yaml")], cwd: dir, env, code: 1, outputBefore: true, secrets: [secret] });
}

/** The image's failure: one line under its name (the run's own error line is the summary). */
function failure(r: { stderr: string; errorLine: string }): string {
  expect(r.errorLine).toBe("error: 1 of 1 images failed: app");
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("app | "));
  return lines.at(-1)!;
}

describe.skipIf(!(await requireEngine("auth-registry")))("credential helpers that misbehave", () => {
  test("a failing helper: one line with its name, exit code and stderr tail", async () => {
    const r = await failWith("fail");
    expect(failure(r)).toContain("Credential helper 'docker-credential-imgbtest' failed with exit code 3: starting the keyring / gpg: decryption failed: No secret key");
  }, E2E_TIMEOUT);

  test("a helper answering something that is not JSON: named, its answer never shown", async () => {
    const r = await failWith("garbage", "hunter2-in-the-helper-answer");
    expect(failure(r)).toContain("Credential helper 'docker-credential-imgbtest' answered with something that is not JSON");
  }, E2E_TIMEOUT);

  test("a helper that is not installed", async () => {
    const r = await failWith("missing");
    expect(failure(r)).toContain("Credential helper 'docker-credential-imgbtest' (for 127.0.0.1:5001) is not on PATH");
  }, E2E_TIMEOUT);

  test("'credentials not found' is anonymous: the registry's 401, saying where imgb looked", async () => {
    const r = await failWith("notfound");
    expect(failure(r)).toContain(`Registry ${AUTH_REGISTRY} requires authentication`);
    expect(failure(r)).toContain("(docker-credential-imgbtest: credentials not found)");
  }, E2E_TIMEOUT);
});
