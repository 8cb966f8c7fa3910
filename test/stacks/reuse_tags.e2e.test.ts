/**
 * Tags are destinations, not inputs (issue #11, item 4), and no_cache forces a build (item 5),
 * against the real dockerd and registry. A docker wrapper logs every CLI call, so "reused"
 * is proved by no `build` having run, and tags are checked where they live: the registry's own
 * answer for `repo:tag`, or the daemon's image ID for `name:tag`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

function docker(...args: string[]): string {
  const p = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, ...args], { stdin: "ignore" });
  if (p.exitCode !== 0) throw new Error(`docker ${args.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

const ENGINES = {
  docker: { cli: DOCKER_CLI, config: `host: "${DOCKER_HOST}"`, build: "build" },
  podman: { cli: "podman", config: "layers: true", build: "build" },
  buildah: { cli: "buildah", config: "layers: true", build: "bud" },
} as const;
type Engine = keyof typeof ENGINES;

/** The ID the engine has for a local reference, `sha256:…`. */
function localId(engine: Engine, ref: string): string {
  const argv = engine === "docker" ? [DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", "--format", "{{.Id}}", ref] : engine === "podman" ? ["podman", "image", "inspect", "--format", "{{.Id}}", ref] : ["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref];
  const p = Bun.spawnSync(argv, { stdin: "ignore" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
  const id = p.stdout.toString().trim();
  return id.startsWith("sha256:") ? id : `sha256:${id}`;
}

function engineCli(engine: Engine, ...args: string[]): void {
  const argv = engine === "docker" ? [DOCKER_CLI, "-H", DOCKER_HOST, ...args] : [ENGINES[engine].cli, ...args];
  const p = Bun.spawnSync(argv, { stdin: "ignore" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
}

/** A one-image stack; `stack(tags, extra)` rewrites its imgb.yaml. */
function project(withRegistry: boolean, engine: Engine = "docker") {
  const { cli, config, build: buildCommand } = ENGINES[engine];
  const dir = tempDir("imgb-tags-");
  const out = tempDir("imgb-tags-out-"); // metadata outside the context
  const name = uniqueRepo("tags");
  const log = join(out, "engine-calls.log");
  writeTree(dir, {
    "engine-wrapper": `#!/bin/sh\necho "$1" >> ${log}\nexec ${Bun.which(cli) ?? cli} "$@"\n`,
    // The context is a subdirectory: imgb.yaml changes between runs and must not be in it.
    "ctx/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\n`,
    "ctx/a.txt": `${name}\n`,
  });
  chmodSync(join(dir, "engine-wrapper"), 0o755);
  const stack = (tags: string[], extra = "") =>
    writeFileSync(
      join(dir, "imgb.yaml"),
      `image_builder: { flavor: ${engine}, config: { binary: ${join(dir, "engine-wrapper")}, ${config} } }\n` +
        (withRegistry ? `container_registry: { uri: ${REGISTRY} }\n` : "") +
        `images:\n  ${name}:\n    context: ctx\n    network: none\n    tags: [${tags.join(", ")}]\n${extra}`,
    );
  const builds = () => {
    try {
      return readFileSync(log, "utf8").split("\n").filter((l) => l === buildCommand).length;
    } catch {
      return 0;
    }
  };
  const env = { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" };
  const build = async () => {
    const r = await runImgb(["build", "--progress", "plain", "--metadata-file", join(out, "meta.json")], { cwd: dir, env });
    expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
    return (JSON.parse(readFileSync(join(out, "meta.json"), "utf8")) as Record<string, { ref: string; digest: string | null; imageId: string | null; reused: boolean; checksum: string }>)[name]!;
  };
  return { dir, name, stack, builds, build, env };
}

describe.skipIf(!(await requireEngine("docker", "registry")))("reuse and tags (docker + registry)", () => {
  test("a changed tag list reuses and tags the digest; a tag moved elsewhere is put back", async () => {
    const p = project(true);
    p.stack(["a", "b"]);
    const first = await p.build();
    expect(first.reused).toBe(false);
    expect(p.builds()).toBe(1);
    const digest = first.digest!;
    expect(first.ref).toBe(`${REGISTRY}/${p.name}@${digest}`);
    for (const t of ["a", "b"]) expect(await registryDigest(REGISTRY, p.name, t)).toBe(digest);

    p.stack(["a", "c"]); // e.g. tags: [latest, "${GIT_SHA}"] on the next commit
    const second = await p.build();
    expect(second).toMatchObject({ reused: true, ref: first.ref, checksum: first.checksum });
    expect(p.builds()).toBe(1);
    expect(await registryDigest(REGISTRY, p.name, "c")).toBe(digest);

    // Someone pushes another image under tag a.
    docker("tag", BASE_IMAGE, `${REGISTRY}/${p.name}:a`);
    docker("push", `${REGISTRY}/${p.name}:a`);
    expect(await registryDigest(REGISTRY, p.name, "a")).not.toBe(digest);
    const third = await p.build();
    expect(third).toMatchObject({ reused: true, ref: first.ref });
    expect(p.builds()).toBe(1);
    expect(await registryDigest(REGISTRY, p.name, "a")).toBe(digest);
    expect(await registryDigest(REGISTRY, p.name, "c")).toBe(digest);
  }, E2E_TIMEOUT * 2);

  test("no_cache: true builds every time (and the plan says build)", async () => {
    const p = project(true);
    p.stack(["v1"], "    no_cache: true\n");
    expect((await p.build()).reused).toBe(false);
    expect((await p.build()).reused).toBe(false);
    expect(p.builds()).toBe(2);
    const plan = await runImgb(["print"], { cwd: p.dir, env: p.env });
    expect(plan.code).toBe(0);
    expect((JSON.parse(plan.stdout).plan as { decision: string }[]).map((e) => e.decision)).toEqual(["build"]);
    // Without no_cache the same image is reused: no_cache is not part of what is built.
    p.stack(["v1"]);
    expect((await p.build()).reused).toBe(true);
    expect(p.builds()).toBe(2);
  }, E2E_TIMEOUT * 2);
});

for (const engine of Object.keys(ENGINES) as Engine[]) {
  describe.skipIf(!(await requireEngine(engine)))(`reuse and tags (${engine}, local images)`, () => {
    test("a reused local image gets every requested tag with the engine's tag command", async () => {
      const p = project(false, engine);
      p.stack(["a", "b"]);
      const first = await p.build();
      expect(first.reused).toBe(false);
      expect(p.builds()).toBe(1);
      const id = first.imageId!;
      expect(localId(engine, `${p.name}:b`)).toBe(id);

      p.stack(["c", "a"]);
      expect(await p.build()).toMatchObject({ reused: true, ref: `${p.name}:c`, imageId: id }); // named by this run's first tag
      expect(p.builds()).toBe(1);
      expect(localId(engine, `${p.name}:c`)).toBe(id);

      engineCli(engine, "tag", BASE_IMAGE, `${p.name}:a`); // the tag moves to another image
      expect(localId(engine, `${p.name}:a`)).not.toBe(id);
      const third = await p.build();
      expect(third.reused).toBe(true);
      expect(p.builds()).toBe(1);
      expect(localId(engine, `${p.name}:a`)).toBe(id);
      engineCli(engine, "rmi", `${p.name}:a`, `${p.name}:b`, `${p.name}:c`);
    }, E2E_TIMEOUT * 2);
  });
}
