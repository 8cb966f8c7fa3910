/**
 * The registry password's environment variable never reaches an engine child. `imgb build` runs
 * (as users run it) with `password_env` naming a variable of its own, on a two-image stack whose
 * second image is built FROM the first's pushed digest in the htpasswd registry (so the build's
 * pull authenticates too). Meanwhile a separate watcher reads /proc/<pid>/environ of every
 * process: only imgb itself may hold the variable. Controls that prove the watcher looked at the
 * right processes at the right time: an allowed variable (LC_*) must show up in an engine
 * child's environment, and the login's `--password-stdin` in an argv.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { imgbBinary } from "../helpers/binary.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, PODMAN_URL, registryDigest, requireEngine, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { isCommand, watchProcesses, type ProcHit } from "./_proc_watch.ts";

afterAll(cleanupTempDirs);

const cases: { label: string; needs: EngineName; builder: string }[] = [
  { label: "docker", needs: "docker", builder: `{ flavor: docker, config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" } }` },
  { label: "podman", needs: "podman", builder: "{ flavor: podman }" },
  { label: "podman service", needs: "podman-service", builder: `{ flavor: podman, config: { url: "${PODMAN_URL}" } }` },
  { label: "buildah", needs: "buildah", builder: "{ flavor: buildah }" },
];

interface Watched {
  code: number;
  stderr: string;
  imgbPid: number;
  /** `pid argv` of processes whose environment held the password variable, imgb itself excluded. */
  leaks: string[];
  /** `pid argv` of processes (imgb excluded) whose environment held the allowed control variable. */
  controls: string[];
  loginsSeen: number;
}

async function buildWatched(dir: string, passwordVar: string, control: string): Promise<Watched> {
  const watch = await watchProcesses({ argv: ["--password-stdin"], environ: [`${passwordVar}=`, control] });
  const [name, value] = control.split("=");
  const argv = [imgbBinary(), "build", "--progress", "plain"];
  const imgb = Bun.spawn(argv, {
    cwd: dir,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1", [passwordVar]: AUTH_PASSWORD, [name!]: value! },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  let code = -1;
  let hits: ProcHit[] = [];
  try {
    [, stderr, code] = await Promise.all([new Response(imgb.stdout).text(), new Response(imgb.stderr).text(), imgb.exited]);
  } finally {
    hits = await watch.stop();
  }
  // imgb itself, and its children caught between fork and exec (still imgb's argv and environment).
  const shown = (kind: ProcHit["kind"], needle: number) =>
    hits.filter((h) => h.kind === kind && h.needle === needle && h.pid !== imgb.pid && !isCommand(h, argv)).map((h) => `${h.pid} ${h.argv}`);
  return { code, stderr, imgbPid: imgb.pid, leaks: shown("environ", 0), controls: shown("environ", 1), loginsSeen: hits.filter((h) => h.kind === "argv" && h.needle === 0).length };
}

for (const c of cases) {
  describe.skipIf(!(await requireEngine(c.needs, "auth-registry")))(`${c.label}: engine environment`, () => {
    test("the password variable reaches no engine process; a stack image is pulled from the auth registry", async () => {
      const tag = Math.random().toString(36).slice(2, 8);
      const passwordVar = `IMGB_E2E_PASSWORD_${tag.toUpperCase()}`;
      const control = `LC_IMGB_E2E_${tag.toUpperCase()}=visible`;
      const p = uniqueRepo(`env-${c.label.replace(/\W/g, "-")}`);
      const dir = tempDir("imgb-env-");
      writeTree(dir, {
        "imgb.yaml": `image_builder: ${c.builder}
container_registry:
  uri: ${AUTH_REGISTRY}
  credentials: { username: ${AUTH_USER}, password_env: ${passwordVar} }
images:
  ${p}-base: { context: base, network: none, no_cache: true }
  ${p}-app: { context: app, network: none, no_cache: true, build_args: { BASE: "\${images.${p}-base.ref}" } }
`,
        "base/Dockerfile": `FROM ${BASE_IMAGE}\nRUN sleep 1 && echo base > /base.txt\n`,
        "app/Dockerfile": "ARG BASE\nFROM ${BASE}\nRUN sleep 1 && cat /base.txt > /app.txt\n",
      });
      const r = await buildWatched(dir, passwordVar, control);
      expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
      expect(r.leaks).toEqual([]);
      expect(r.controls.length).toBeGreaterThan(0);
      expect(r.loginsSeen).toBeGreaterThan(0);
      const digest = await registryDigest(AUTH_REGISTRY, `${p}-app`, "latest", { user: AUTH_USER, password: AUTH_PASSWORD });
      expect(r.stderr).toContain(`${AUTH_REGISTRY}/${p}-app@${digest}`);
    }, E2E_TIMEOUT);
  });
}
