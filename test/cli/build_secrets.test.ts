/**
 * Build secrets through the binary, as a user runs it: `imgb validate` refuses them where no RUN
 * step can mount them (docker's classic builder; ssh on the oci flavor), located at the key; `imgb
 * print` shows where a secret comes from and never its value; `imgb build` on docker BuildKit
 * gives the RUN step the value, and the value is then in no output, no metadata file and
 * nowhere in imgb's store. A new value alone does not rebuild (the checksum holds ids only).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const VALUE = `cli-secret-${crypto.randomUUID()}`;
const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

function stack(builder: string, image: string, extra = ""): string {
  const dir = tempDir("imgb-secstack-");
  writeTree(dir, {
    // The nonce keeps BuildKit's cache of an earlier run (keyed without the secret's value) out.
    Dockerfile: `FROM imgb-test/busybox:latest\nENV NONCE=${crypto.randomUUID()}\n` + "RUN --mount=type=secret,id=tok --mount=type=secret,id=shared sha256sum /run/secrets/tok | cut -d' ' -f1 > /sum && cat /run/secrets/shared > /shared\n",
    "shared.txt": "not secret at all\n",
    "imgb.yaml": `image_builder:\n${builder}\nsecrets:\n  shared: { file: shared.txt }\nimages:\n  ${image}:\n    context: .\n    network: none\n    secrets:\n      tok: { env: IMGB_CLI_SECRET }\n${extra}`,
  });
  return dir;
}

describe("validation refuses secrets and ssh where no RUN step can mount them", () => {
  test("docker with builder: classic: located at the image's `secrets` and `ssh` keys, exit 2", async () => {
    const dir = stack(`  flavor: docker\n  config: { binary: ${DOCKER_CLI}, builder: classic }`, "app", "    ssh: [default]\n");
    const r = await runImgb(["validate"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("imgb.yaml: error: The docker flavor with builder: classic cannot give RUN steps build secrets (image 'app' sets 'secrets'): the classic builder has no RUN --mount (at /images/app/secrets)");
    expect(r.stderr).toContain("cannot give RUN steps SSH forwarding (image 'app' sets 'ssh'): the classic builder has no RUN --mount (at /images/app/ssh)");
  });

  test("oci: ssh is refused at its key, secrets are not (its RUN steps mount them)", async () => {
    const dir = stack("  flavor: oci\n  config: { output: 'oci-layout:out' }", "app", "    ssh: [default]\n");
    const r = await runImgb(["validate"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("imgb.yaml: error: The oci flavor cannot give RUN steps SSH forwarding: image 'app' sets 'ssh' (at /images/app/ssh)");
    expect(r.stderr).not.toContain("/images/app/secrets");
  });

  test("podman through a service (url): ssh is refused at its key, secrets are not", async () => {
    const dir = stack("  flavor: podman\n  config: { url: 'unix:///run/podman.sock' }", "app", "    ssh: [default]\n");
    const r = await runImgb(["validate"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot forward SSH (image 'app' sets 'ssh'): the service never gets the client's agent (at /images/app/ssh)");
    expect(r.stderr).not.toContain("/images/app/secrets");
  });

  test("a secret file outside the stack's directory needs --allow fs.read", async () => {
    const dir = stack("  flavor: docker", "app", "    ssh: { key: /etc/hostname }\n");
    const r = await runImgb(["validate"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'ssh' reads '/etc/hostname'");
    expect((await runImgb(["validate", "--allow", "fs.read=/etc/hostname"], { cwd: dir })).code).toBe(0);
  });
});

describe.skipIf(!(await requireEngine("docker")))("docker BuildKit: imgb build with secrets", () => {
  test("the RUN step reads the value; print, the output, the metadata file and the store never hold it; a new value reuses", async () => {
    const repo = uniqueRepo("cli-secrets");
    const dir = stack(`  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: '${DOCKER_HOST}' }`, repo);
    const home = tempDir("imgb-sechome-");
    // Outside the context (the stack's directory): a metadata file in it would change the next build's context.
    const meta = tempDir("imgb-secmeta-");
    const env = { IMGB_HOME: home, NO_COLOR: "1", IMGB_CLI_SECRET: VALUE };

    const printed = await runImgb(["print", "--no-plan"], { cwd: dir, env });
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout).images[repo].secrets).toEqual([{ id: "shared", file: join(dir, "shared.txt") }, { id: "tok", env: "IMGB_CLI_SECRET" }]);

    const built = await runImgb(["build", "--progress", "plain", "--metadata-file", join(meta, "1.json")], { cwd: dir, env });
    expect({ code: built.code, stderr: built.code === 0 ? "" : built.stderr }).toEqual({ code: 0, stderr: "" });
    const ref = `${repo}:latest`;
    const out = (await exec([DOCKER_CLI, "-H", DOCKER_HOST, "run", "--rm", "--network=none", ref, "cat", "/sum", "/shared"])).stdout;
    expect(out).toBe(`${sha(VALUE)}\nnot secret at all`);

    const again = await runImgb(["build", "--metadata-file", join(meta, "2.json")], { cwd: dir, env: { ...env, IMGB_CLI_SECRET: `${VALUE}-rotated` } });
    expect(again.code).toBe(0);
    expect(JSON.parse(readFileSync(join(meta, "2.json"), "utf8"))[repo].reused).toBe(true);

    const planned = await runImgb(["print"], { cwd: dir, env });
    expect(planned.code).toBe(0);
    for (const text of [printed.stdout, printed.stderr, built.stdout, built.stderr, again.stdout, again.stderr, planned.stdout, readFileSync(join(meta, "1.json"), "utf8")]) {
      expect(text).not.toContain(VALUE);
    }
    const stored = filesUnder(home);
    expect(stored.length).toBeGreaterThan(0);
    for (const f of stored) expect(readFileSync(f, "latin1")).not.toContain(VALUE);
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", ref]).catch(() => {});
  }, E2E_TIMEOUT);
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}
