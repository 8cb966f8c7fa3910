/**
 * Secrets hunted in every process's argv AND environment while `imgb build` builds, logs in and
 * pushes to the htpasswd registry with `password_env`, on docker, podman and buildah. A watcher
 * process scans /proc/<pid>/cmdline and /proc/<pid>/environ of every process about every
 * millisecond. The password may be in imgb's own environment (that is where password_env reads
 * it) and nowhere else: an engine gets it on stdin or in a 0600 file only.
 *
 * Needles: the password (argv: anywhere; environ: in imgb's descendants, because other imgb runs
 * on the machine legitimately hold the same test password), `VAR=` of a password variable name
 * unique to this run (environ and argv, anywhere: nobody else has it), and the unique repository
 * name, which must be seen in some engine's argv (proof the watcher looked at the right time).
 * A child caught between fork and exec still shows imgb's own argv and environment: such a hit
 * is imgb's, not an engine's (the shared watcher looks at the child again once it has exec'd).
 * Engine children get an allow-listed environment (issue #11 item 19); should the password
 * variable reach one again, its environ hit fails this suite.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, registryDigest, requireEngine, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { imgbBinary, runImgb } from "../helpers/binary.ts";
import { isCommand, watchProcesses, type ProcHit } from "../engines/_proc_watch.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const cases: { label: string; flavor: string; config: Record<string, unknown>; needs: EngineName }[] = [
  { label: "docker", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, needs: "docker" },
  { label: "podman", flavor: "podman", config: { binary: "podman" }, needs: "podman" },
  { label: "buildah", flavor: "buildah", config: { binary: "buildah" }, needs: "buildah" },
];

for (const c of cases) {
  describe.skipIf(!(await requireEngine(c.needs, "auth-registry")))(`${c.label}: secrets hunt`, () => {
    test("the password is in no engine process's argv or environment during build, login and push", async () => {
      const repo = uniqueRepo(`hunt-${c.label}`);
      const variable = `IMGB_HUNT_PW_${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
      const dir = tempDir("imgb-hunt-stack-");
      writeFileSync(join(dir, "Dockerfile"), `FROM imgb-test/busybox:latest\nRUN echo ${Date.now()} > /stamp && sleep 1\n`);
      writeFileSync(
        join(dir, "imgb.yaml"),
        `image_builder:\n  flavor: ${c.flavor}\n  config: ${JSON.stringify(c.config)}\ncontainer_registry:\n  uri: ${AUTH_REGISTRY}\n  insecure: true\n  credentials: { username: ${AUTH_USER}, password_env: ${variable} }\nimages:\n  ${repo}:\n    context: .\n    network: none\n`,
      );
      const env: Record<string, string | undefined> = { NO_COLOR: "1", IMGB_HOME: tempDir("imgb-hunt-home-"), [variable]: AUTH_PASSWORD, STORAGE_DRIVER: process.env.STORAGE_DRIVER };
      const needles = [AUTH_PASSWORD, `${variable}=`, repo];
      const watch = await watchProcesses({ argv: needles, environ: needles });
      const args = ["build", "--progress", "plain"];
      let imgbPid = 0;
      let hits: ProcHit[] = [];
      let result;
      try {
        result = await runImgb(args, { cwd: dir, env, onStderr: (_, proc) => (imgbPid = proc.pid) });
      } finally {
        hits = await watch.stop();
      }
      // imgb itself, or its child before exec: imgb's argv (the environment is imgb's too).
      const imgb = (h: ProcHit) => h.pid === imgbPid || isCommand(h, [imgbBinary(), ...args]);
      expect({ code: result.code, stderr: result.code === 0 ? "" : result.stderr }).toEqual({ code: 0, stderr: "" });
      expect(imgbPid).toBeGreaterThan(0);
      expect(hits.some((h) => h.needle === 2 && h.kind === "argv" && !imgb(h))).toBe(true); // an engine child was seen
      const ours = (h: ProcHit) => !imgb(h) && h.ancestors.includes(imgbPid);
      const leaks = hits.filter(
        (h) =>
          (h.needle === 0 && h.kind === "argv") ||
          (h.needle === 0 && h.kind === "environ" && ours(h)) ||
          (h.needle === 1 && !imgb(h)),
      );
      expect(leaks.map((h) => `${["password", `${variable}=`][h.needle]} in ${h.kind} of ${h.comm} (pid ${h.pid})`)).toEqual([]);
      expect(result.stdout + result.stderr).not.toContain(AUTH_PASSWORD);
      const digest = await registryDigest(AUTH_REGISTRY, repo, "latest", { user: AUTH_USER, password: AUTH_PASSWORD });
      expect(result.stdout.trim()).toBe(`${AUTH_REGISTRY}/${repo}@${digest}`);
    }, E2E_TIMEOUT);
  });
}
