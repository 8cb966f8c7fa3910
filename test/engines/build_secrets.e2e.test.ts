/**
 * Build secrets and ssh forwarding against the real engines (docker BuildKit, podman, buildah).
 * A `RUN --mount=type=secret` step writes the sha256 of each secret into the image (proof that
 * it read the value), a `RUN --mount=type=ssh` step proves the agent socket of a real ssh-agent
 * was there. Then, from the outside: the value is nowhere in the saved image (layers, config,
 * history), in no child's argv or environment during the build (a /proc watcher), in no log
 * line, and the private file an `env:` secret was written to is gone — after a build, after a
 * failed one (whose error and logs show `***` where the RUN step printed the value), and after
 * a cancelled one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions, type BuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, PODMAN_URL, E2E_TIMEOUT, requireEngine, requireTool, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { watchProcesses, type ProcHit } from "./_proc_watch.ts";
import { newBuilder, PODMAN_RUN_FLAGS } from "./_scenario.ts";

const ENV_VALUE = `env-secret-${crypto.randomUUID()}`;
const FILE_VALUE = `file-secret-${crypto.randomUUID()}`;
const ENV_NAME = "IMGB_E2E_BUILD_SECRET";
const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

const DOCKERFILE = `FROM ${BASE_IMAGE}
RUN --mount=type=secret,id=envtok --mount=type=secret,id=filetok sha256sum /run/secrets/envtok /run/secrets/filetok | cut -d' ' -f1 > /secret-sums
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo ok > /ssh-ok
`;
const FAILING = `FROM ${BASE_IMAGE}
RUN --mount=type=secret,id=envtok echo "leaked: $(cat /run/secrets/envtok)"; exit 3
`;
const SLOW = `FROM ${BASE_IMAGE}
RUN --mount=type=secret,id=envtok sleep 30
`;

const haveSsh = await requireTool("ssh-agent");
let agentPid: number | undefined;
let secretFile = "";
let saveDir = "";

beforeAll(async () => {
  const dir = tempDir("imgb-ssh-");
  process.env[ENV_NAME] = ENV_VALUE;
  if (haveSsh) {
    const sock = join(dir, "agent.sock");
    const agent = await exec(["ssh-agent", "-a", sock, "-s"]);
    agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1]);
    await exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")]);
    await exec(["ssh-add", join(dir, "key")], { env: { SSH_AUTH_SOCK: sock } });
    process.env.SSH_AUTH_SOCK = sock;
  }
  secretFile = join(dir, "token.txt");
  writeFileSync(secretFile, FILE_VALUE);
  saveDir = tempDir("imgb-save-");
});

afterAll(async () => {
  // The agent unlinks its socket as it exits: wait for that before its directory is removed,
  // or the removal races the agent and the directory is left behind.
  if (agentPid) {
    process.kill(agentPid);
    for (let i = 0; i < 100 && alive(agentPid); i++) await Bun.sleep(50);
  }
  delete process.env[ENV_NAME];
  cleanupTempDirs();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Engine {
  label: string;
  flavor: string;
  config: Record<string, unknown>;
  needs: "docker" | "podman" | "podman-service" | "buildah";
  /** Runs in the image and prints stdout. */
  cli: string[];
  runFlags: string[];
  save(ref: string, file: string): string[];
  /** false: the engine refuses ssh forwarding (a podman service never gets the client's agent). */
  ssh?: false;
}

const podmanSave = (ref: string, file: string) => ["podman", "save", "--format", "docker-archive", "-o", file, ref];
const engines: Engine[] = [
  { label: "docker", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, needs: "docker", cli: [DOCKER_CLI, "-H", DOCKER_HOST], runFlags: [], save: (ref, file) => [DOCKER_CLI, "-H", DOCKER_HOST, "save", "-o", file, ref] },
  { label: "podman", flavor: "podman", config: { binary: "podman", layers: true }, needs: "podman", cli: ["podman"], runFlags: PODMAN_RUN_FLAGS, save: podmanSave },
  { label: "podman service", flavor: "podman", config: { binary: "podman", layers: true, url: PODMAN_URL }, needs: "podman-service", cli: ["podman"], runFlags: PODMAN_RUN_FLAGS, save: podmanSave, ssh: false },
  { label: "buildah", flavor: "buildah", config: { binary: "buildah", layers: true, format: "oci" }, needs: "buildah", cli: ["podman"], runFlags: PODMAN_RUN_FLAGS, save: podmanSave },
];

const mounts = (e: Engine): Partial<BuildOptions> => ({ secrets: [{ id: "envtok", env: ENV_NAME }, { id: "filetok", file: secretFile }], ...(e.ssh === false ? {} : { ssh: [{ id: "default" }] }) });
/** The Dockerfile without its ssh step, for an engine that refuses ssh. */
const dockerfileFor = (e: Engine) => (e.ssh === false ? DOCKERFILE.split("\n").filter((l) => !l.includes("type=ssh")).join("\n") : DOCKERFILE);

/** A build under the /proc watcher: the values (argv and environment) and the `--secret` argument that names the env secret's file. */
async function watchedBuild(e: Engine, dockerfile: string, repo: string, options: Partial<BuildOptions>, signal?: AbortSignal) {
  const root = tempDir("imgb-secctx-");
  writeTree(root, { Dockerfile: dockerfile });
  const logs: string[] = [];
  const report: BuildReport = {};
  const watch = await watchProcesses({ argv: [ENV_VALUE, FILE_VALUE, "id=envtok,src="], environ: [ENV_VALUE, FILE_VALUE] });
  let hits: ProcHit[] = [];
  let result: { ref?: string; error?: unknown };
  try {
    const builder = await newBuilder(e.flavor, e.config, logs, report, signal);
    const ref = await builder.build(repo, new BuildContext({ root }), defaultBuildOptions({ network: "none", noCache: true, ...options }), undefined);
    result = { ref };
  } catch (error) {
    result = { error };
  } finally {
    hits = await watch.stop();
  }
  const leaks = hits.filter((h) => h.needle < 2 || h.kind === "environ");
  const srcArg = hits.find((h) => h.kind === "argv" && h.needle === 2)?.argv;
  const envFile = srcArg ? /id=envtok,src=(\S+)/.exec(srcArg)?.[1] : undefined;
  return { ...result, logs, leaks, envFile };
}

for (const e of engines) {
  describe.skipIf(!(await requireEngine(e.needs)))(`${e.label}: build secrets and ssh`, () => {
    test.skipIf(!haveSsh)("RUN steps read both secrets and see the agent socket; the values are in no layer, history, argv, environment or log", async () => {
      const repo = uniqueRepo(`secrets-${slug(e)}`);
      const r = await watchedBuild(e, dockerfileFor(e), repo, mounts(e));
      if (r.error) throw r.error;
      expect(r.leaks).toEqual([]);
      // The watcher saw the engine's --secret argument (it was looking at the right moment), and the file it named is gone.
      expect(r.envFile).toBeDefined();
      expect(existsSync(r.envFile!)).toBe(false);
      const out = (await exec([...e.cli, "run", "--rm", "--network=none", ...e.runFlags, r.ref!, "cat", "/secret-sums", ...(e.ssh === false ? [] : ["/ssh-ok"])])).stdout;
      expect(out).toBe(`${sha(ENV_VALUE)}\n${sha(FILE_VALUE)}${e.ssh === false ? "" : "\nok"}`);
      const history = (await exec([...e.cli, "history", "--no-trunc", "--format", "{{.CreatedBy}}", r.ref!])).stdout;
      expect(history).toContain("sha256sum"); // the history is there to search
      expect(history).not.toContain(ENV_VALUE);
      expect(history).not.toContain(FILE_VALUE);
      // The whole image as the engine exports it: every layer tar (uncompressed), the config and its history.
      const archive = join(saveDir, `${slug(e)}.tar`);
      await exec(e.save(r.ref!, archive));
      const bytes = readFileSync(archive, "latin1");
      expect(bytes).toContain(sha(ENV_VALUE)); // the layer the RUN step wrote is in the archive
      expect(bytes).not.toContain(ENV_VALUE);
      expect(bytes).not.toContain(FILE_VALUE);
      expect(r.logs.join("\n")).not.toContain(ENV_VALUE);
      await exec([...e.cli, "rmi", r.ref!]).catch(() => {});
    }, E2E_TIMEOUT);

    if (e.ssh === false) {
      test.skipIf(!haveSsh)("ssh forwarding is refused before the engine runs, naming why", async () => {
        const r = await watchedBuild(e, DOCKERFILE, uniqueRepo(`secrets-nossh-${slug(e)}`), { ssh: [{ id: "default" }] });
        expect((r.error as Error).message).toContain("cannot forward SSH");
        expect(r.envFile).toBeUndefined();
      }, E2E_TIMEOUT);
    }

    test("a failing RUN step that prints the secret: the error and the logs show ***, and the secret's file is removed", async () => {
      const r = await watchedBuild(e, FAILING, uniqueRepo(`secrets-fail-${slug(e)}`), { secrets: [{ id: "envtok", env: ENV_NAME }] });
      expect(r.error).toBeInstanceOf(Error);
      const message = (r.error as Error).message;
      expect(message).not.toContain(ENV_VALUE);
      expect(r.logs.join("\n")).not.toContain(ENV_VALUE);
      expect(`${message}\n${r.logs.join("\n")}`).toContain("leaked: ***");
      expect(r.leaks).toEqual([]);
      expect(r.envFile).toBeDefined();
      expect(existsSync(r.envFile!)).toBe(false);
    }, E2E_TIMEOUT);

    test("a cancelled build removes the secret's file", async () => {
      const controller = new AbortController();
      // Cancel once the engine runs with its --secret argument (seen in /proc).
      const cancel = (async () => {
        for (let i = 0; i < 600 && !controller.signal.aborted; i++) {
          await Bun.sleep(100);
          if (engineArgv("id=envtok,src=")) return controller.abort();
        }
      })();
      const r = await watchedBuild(e, SLOW, uniqueRepo(`secrets-cancel-${slug(e)}`), { secrets: [{ id: "envtok", env: ENV_NAME }] }, controller.signal);
      await cancel;
      expect(r.error).toBeInstanceOf(CancelledError);
      expect(r.envFile).toBeDefined();
      expect(existsSync(r.envFile!)).toBe(false);
    }, E2E_TIMEOUT);
  });
}

/** Whether some process's argv holds `needle` now. */
function engineArgv(needle: string): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(needle)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** The engine's label as a repository name part. */
function slug(e: Engine): string {
  return e.label.replace(/\W/g, "-");
}
