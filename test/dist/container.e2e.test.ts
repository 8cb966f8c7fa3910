/**
 * imgb builds its own image with itself: the release binary runs `imgb build` on a copy of
 * container/ (Dockerfile + imgb.yaml) with the context scripts/container-rootfs.ts prepares,
 * against the test dockerd. The image is then run read-only, without network, as nobody, on a
 * mounted stack: version, validate and context must work, and the store must fail clearly.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { repoRoot } from "../helpers/binary.ts";
import { DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { RELEASE_TIMEOUT, releaseBuild, run } from "./_release.ts";

const tag = `e2e-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const image = `imgb:${tag}`;

const docker = (...args: string[]) => run([DOCKER_CLI, "-H", DOCKER_HOST, ...args], { env: { PATH: "/usr/bin:/bin" } });

afterAll(async () => {
  await docker("rmi", image);
  cleanupTempDirs();
});

/** Files every container gets from the engine, not from the image. */
const RUNTIME_ENTRIES = /^(\.dockerenv|dev|proc|sys|etc\/(hosts|hostname|resolv\.conf|mtab))(\/|$)/;

describe.skipIf(!(await requireEngine("docker")))("imgb's own image, built by imgb", () => {
  let stackDir = "";

  test(
    "imgb build -f container/imgb.yaml with the docker flavor",
    async () => {
      const { hostBinary } = await releaseBuild();
      const tree = tempDir("imgb-selfhost-");
      cpSync(join(repoRoot, "container"), join(tree, "container"), { recursive: true });
      const prep = await run([process.execPath, join(repoRoot, "scripts/container-rootfs.ts"), "--binary", hostBinary, "--out", join(tree, "dist/container")]);
      expect(prep.stderr).toContain("/usr/local/bin/imgb");
      expect(prep.code).toBe(0);

      const home = tempDir("imgb-home-");
      const build = await run([hostBinary, "build", "-f", join(tree, "container/imgb.yaml"), "--allow", `fs.read=${join(tree, "dist/container")}`], {
        cwd: tempDir(),
        env: { PATH: "/usr/bin:/bin", HOME: home, DOCKER_HOST, DOCKER_BINARY: DOCKER_CLI, IMGB_IMAGE_TAG: tag },
      });
      if (build.code !== 0) console.log(build.stderr);
      expect(build.code).toBe(0);
      expect(build.stdout.trim()).toMatch(/^imgb:(latest|e2e-)/);

      const inspect = await docker("image", "inspect", "--format", "{{.Size}} {{.Config.User}} {{json .Config.Entrypoint}} {{len .RootFS.Layers}}", image);
      expect(inspect.code).toBe(0);
      const [size, user, entrypoint, layers] = inspect.stdout.trim().split(" ");
      console.log(`imgb image ${image}: ${size} bytes (${(Number(size) / 1024 / 1024).toFixed(1)} MiB), ${layers} layer(s)`);
      expect(user).toBe("65534:65534");
      expect(JSON.parse(entrypoint!)).toEqual(["/usr/local/bin/imgb"]);

      // A stack to mount: readable by nobody, with an ignore rule so `context` has work to do.
      // (No directory named like the image: `imgb context app` would take ./app as a DIR.)
      stackDir = tempDir("imgb-mounted-");
      writeTree(stackDir, {
        "imgb.yaml": "image_builder:\n  flavor: docker\nimages:\n  app:\n    context: .\n    tags: [\"${APP_TAG:-dev}\"]\n",
        Dockerfile: "FROM scratch\nCOPY src/ /app/\n",
        ".dockerignore": "*.log\n",
        "src/main.sh": "echo hi\n",
        "debug.log": "ignored\n",
      });
      Bun.spawnSync(["chmod", "-R", "a+rX", stackDir]);
    },
    RELEASE_TIMEOUT,
  );

  test(
    "the image holds the binary, its libraries, passwd and group: nothing else (no shell)",
    async () => {
      const created = await docker("create", image);
      expect(created.code).toBe(0);
      const id = created.stdout.trim();
      try {
        const tar = Bun.spawnSync(["sh", "-c", `${DOCKER_CLI} -H ${DOCKER_HOST} export ${id} | tar -t`]);
        const files = tar.stdout
          .toString()
          .split("\n")
          .filter((p) => p && !p.endsWith("/") && !RUNTIME_ENTRIES.test(p))
          .sort();
        expect(files).toContain("usr/local/bin/imgb");
        expect(files).toContain("etc/passwd");
        expect(files.filter((f) => !/^(usr\/local\/bin\/imgb|etc\/(passwd|group)|lib(64)?\/.*\.so(\.\d+)*)$/.test(f))).toEqual([]);
        expect(files).not.toContain("bin/sh");
      } finally {
        await docker("rm", id);
      }
    },
    E2E_TIMEOUT,
  );

  const runInImage = (args: string[], flags: string[] = []) =>
    docker("run", "--rm", "--read-only", "--network=none", "-v", `${stackDir}:/work`, "-w", "/work", ...flags, image, ...args);

  test(
    "read-only, no network: version, validate and context on a mounted stack",
    async () => {
      const version = await runInImage(["version"]);
      expect(version.stderr).toBe("");
      expect(version.stdout).toStartWith(`imgb ${pkg.version} (`);
      expect(version.code).toBe(0);

      const validate = await runInImage(["validate", "-f", "imgb.yaml"]);
      expect(validate.stderr).toContain("/work/imgb.yaml: valid (flavor docker, 1 image: app)");
      expect(validate.code).toBe(0);

      const context = await runInImage(["context", "app", "-f", "imgb.yaml", "--list"]);
      expect(context.code).toBe(0);
      expect(context.stdout.split("\n").filter(Boolean)).toEqual([".dockerignore", "Dockerfile", "imgb.yaml", "src/", "src/main.sh"]);

      const json = await runInImage(["version", "--json"]);
      expect(JSON.parse(json.stdout)).toMatchObject({ version: pkg.version, platform: `linux/${process.arch}` });

      // A context big enough for the native per-file loops (src/context/_native.ts): compiled in
      // the image too (no C headers, no libc.so, a read-only root), the same bytes as on the host.
      const many = join(stackDir, "many");
      mkdirSync(many);
      for (let i = 0; i < 5000; i++) writeFileSync(join(many, `f${i}`), `${i}\n`);
      const inImage = await runInImage(["context", "many", "--checksum", "--debug"]);
      expect(inImage.code).toBe(0);
      const onHost = await run([(await releaseBuild()).hostBinary, "context", many, "--checksum"]);
      expect(inImage.stdout).toBe(onHost.stdout);
      expect(inImage.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      const pipe = await runInImage(["context", "many", "-o", "-", "--debug"]);
      expect(pipe.stderr).toContain("context: the native per-file loop is compiled");
      rmSync(many, { recursive: true });
    },
    E2E_TIMEOUT,
  );

  test(
    "the store on a read-only root: a clear error; with --tmpfs /tmp and IMGB_HOME it works",
    async () => {
      const flavorDir = join(stackDir, "flavor");
      mkdirSync(flavorDir);
      cpSync(join(repoRoot, "examples/custom-flavor/stamped_flavor.ts"), join(flavorDir, "stamped_flavor.ts"));
      chmodSync(flavorDir, 0o755);
      const refused = await runInImage(["flavor", "register", "flavor/stamped_flavor.ts"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: imgb's store '[^']+' is read-only: cannot write to it/);
      expect(refused.stderr).toContain("point IMGB_HOME at a writable directory");

      const ok = await runInImage(["flavor", "register", "flavor/stamped_flavor.ts"], ["--tmpfs", "/tmp", "-e", "IMGB_HOME=/tmp/imgb"]);
      expect(ok.stderr).toContain("Registered flavor 'stamped'");
      expect(ok.code).toBe(0);

      // A store made on the host, mounted read-only: read, not written.
      const store = tempDir("imgb-store-");
      const { hostBinary } = await releaseBuild();
      const reg = await run([hostBinary, "flavor", "register", join(flavorDir, "stamped_flavor.ts")], { env: { PATH: "/usr/bin:/bin", IMGB_HOME: store } });
      expect(reg.code).toBe(0);
      Bun.spawnSync(["chmod", "-R", "a+rX", store]);
      const listed = await runInImage(["flavor", "list"], ["-v", `${store}:/store:ro`, "-e", "IMGB_HOME=/store"]);
      expect(listed.stderr).not.toContain("internal error");
      expect(listed.stdout).toContain("stamped");
      expect((await runInImage(["validate", "-f", "imgb.yaml"], ["-v", `${store}:/store:ro`, "-e", "IMGB_HOME=/store"])).code).toBe(0);
    },
    E2E_TIMEOUT,
  );
});
