/**
 * Multi-image stacks against the real engines and registry, on every flavor (docker, podman,
 * podman through its service, buildah): a diamond (base <- left, right <- app), each image built
 * FROM its dependencies' pushed digests, in dependency order; the pushed app image holds every
 * layer's file (read back from the registry with GNU tar); a rebuild with nothing changed reuses
 * everything and runs no engine build (proved by an engine wrapper that logs every invocation);
 * changing one file rebuilds exactly the images that depend on it; a failure skips dependents only.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runImgb } from "../helpers/binary.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, PODMAN_URL, REGISTRY, registryDigest, requireEngine, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

interface FlavorCase {
  label: string;
  needs: EngineName;
  flavor: string;
  /** The engine CLI and its global flags, as the test itself runs it. */
  cli: string[];
  /** The flavor config, given the path of the logging wrapper around the CLI binary. */
  config(wrapper: string): string;
  /** The engine's build subcommand (what the wrapper counts). */
  buildCommand: string;
}

const CASES: FlavorCase[] = [
  { label: "docker", needs: "docker", flavor: "docker", cli: [DOCKER_CLI, "-H", DOCKER_HOST], config: (w) => `{ binary: ${w}, host: "${DOCKER_HOST}" }`, buildCommand: "build" },
  { label: "podman", needs: "podman", flavor: "podman", cli: ["podman"], config: (w) => `{ binary: ${w} }`, buildCommand: "build" },
  { label: "podman service", needs: "podman-service", flavor: "podman", cli: ["podman", "--remote", "--url", PODMAN_URL], config: (w) => `{ binary: ${w}, url: "${PODMAN_URL}" }`, buildCommand: "build" },
  { label: "buildah", needs: "buildah", flavor: "buildah", cli: ["buildah"], config: (w) => `{ binary: ${w} }`, buildCommand: "bud" },
];

function diamond(c: FlavorCase) {
  const dir = tempDir("imgb-diamond-");
  const p = uniqueRepo("diamond");
  const log = join(dir, "engine-calls.log");
  writeTree(dir, {
    // Logs the subcommand: the first word that is not a global flag (or the value of one).
    "engine-wrapper": `#!/bin/sh\nfor a in "$@"; do case "$a" in --remote) ;; --url|-H) skip=1 ;; -*) ;; *) [ -n "$skip" ] && { skip=; continue; }; echo "$a" >> ${log}; break ;; esac; done\nexec ${c.cli[0]} "$@"\n`,
    "base/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY base.txt /base.txt\n`,
    "base/base.txt": "base v1\n",
    "left/Dockerfile": "ARG BASE\nFROM ${BASE}\nCOPY left.txt /left.txt\n",
    "left/left.txt": "left v1\n",
    "right/Dockerfile": "ARG BASE\nFROM ${BASE}\nCOPY right.txt /right.txt\n",
    "right/right.txt": "right v1\n",
    "app/Dockerfile": "ARG LEFT\nARG RIGHT\nFROM ${LEFT} AS l\nFROM ${RIGHT}\nCOPY --from=l /left.txt /left.txt\nCOPY app.txt /app.txt\n",
    "app/app.txt": "app v1\n",
    "imgb.yaml": `image_builder:
  flavor: ${c.flavor}
  config: ${c.config(join(dir, "engine-wrapper"))}
container_registry: { uri: ${REGISTRY} }
images:
  ${p}-app:
    context: app
    network: none
    build_args: { LEFT: "\${images.${p}-left.ref}", RIGHT: "\${images.${p}-right.ref}" }
  ${p}-left:
    context: left
    network: none
    build_args: { BASE: "\${images.${p}-base.ref}" }
  ${p}-right:
    context: right
    network: none
    build_args: { BASE: "\${images.${p}-base.ref}" }
  ${p}-base:
    context: base
    network: none
`,
  });
  chmodSync(join(dir, "engine-wrapper"), 0o755);
  const builds = () => {
    try {
      return readFileSync(log, "utf8").split("\n").filter((l) => l === c.buildCommand).length;
    } catch {
      return 0;
    }
  };
  return { dir, p, builds, env: { IMGB_HOME: tempDir("imgb-home-"), NO_COLOR: "1" } };
}

/** Every file path in the layers of `repo@digest`, read from the registry by GNU tar (not by imgb). */
async function pushedFiles(repo: string, digest: string, registry = REGISTRY, auth?: string): Promise<string[]> {
  const get = async (path: string, accept?: string) => {
    const headers: Record<string, string> = accept ? { Accept: accept } : {};
    if (auth) headers.Authorization = `Basic ${btoa(auth)}`;
    const res = await fetch(`http://${registry}/v2/${repo}/${path}`, { headers });
    if (res.status !== 200) throw new Error(`GET ${repo}/${path}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const manifest = JSON.parse(new TextDecoder().decode(await get(`manifests/${digest}`, accept))) as { layers: { digest: string }[] };
  const dir = tempDir("imgb-layers-");
  const files: string[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    const file = join(dir, `layer-${i}`);
    writeFileSync(file, await get(`blobs/${layer.digest}`));
    const t = Bun.spawnSync(["tar", "-taf", file], { stdout: "pipe", stderr: "pipe" });
    if (t.exitCode !== 0) throw new Error(`tar -t layer ${layer.digest}: ${t.stderr.toString()}`);
    files.push(...t.stdout.toString().split("\n").filter((l) => l !== ""));
  }
  return files.map((f) => f.replace(/^\.?\//, ""));
}

const meta = (dir: string) => JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Record<string, { ref: string; reused: boolean; checksum: string }>;

for (const c of CASES) {
describe.skipIf(!(await requireEngine(c.needs, "registry")))(`multi-image stacks (${c.label})`, () => {
  test("diamond: order, images FROM their dependencies' digests, reuse of everything, rebuild of exactly the dependents", async () => {
    const { dir, p, builds, env } = diamond(c);
    const names = ["base", "left", "right", "app"].map((n) => `${p}-${n}`);

    const first = await runImgb(["build", "--progress", "plain", "--metadata-file", "meta.json", "--jobs", "2"], { cwd: dir, env });
    expect({ code: first.code, err: first.code ? first.stderr : "" }).toEqual({ code: 0, err: "" });
    expect(builds()).toBe(4);
    const m1 = meta(dir);
    for (const n of names) expect(m1[n]!.ref).toBe(`${REGISTRY}/${n}@${await registryDigest(REGISTRY, n, "latest")}`);
    // Dependents were built from their dependencies' digests.
    const done = (n: string) => first.stderr.search(new RegExp(`${n} +\\| built`));
    expect(done(names[0]!)).toBeLessThan(done(names[1]!));
    expect(Math.max(done(names[1]!), done(names[2]!))).toBeLessThan(done(names[3]!));
    expect(first.stdout.trim().split("\n")).toHaveLength(4);
    // The pushed app holds base's layer (through left and right), right's, and left's file.
    const app = m1[names[3]!]!.ref;
    const files = await pushedFiles(names[3]!, app.slice(app.indexOf("@") + 1));
    for (const f of ["base.txt", "right.txt", "left.txt", "app.txt"]) expect(files).toContain(f);

    const second = await runImgb(["build", "--progress", "plain", "--metadata-file", "meta.json"], { cwd: dir, env });
    expect(second.code).toBe(0);
    expect(builds()).toBe(4); // no engine build ran
    const m2 = meta(dir);
    for (const n of names) expect(m2[n]).toMatchObject({ reused: true, ref: m1[n]!.ref, checksum: m1[n]!.checksum });
    expect(second.stdout).toBe(first.stdout);

    const plan = async () => {
      const r = await runImgb(["print"], { cwd: dir, env });
      expect(r.code).toBe(0);
      return Object.fromEntries((JSON.parse(r.stdout).plan as { image: string; decision: string }[]).map((e) => [e.image, e.decision]));
    };
    expect(await plan()).toEqual(Object.fromEntries(names.map((n) => [n, "reuse"])));
    writeFileSync(join(dir, "left/left.txt"), "left v2\n");
    expect(await plan()).toEqual({ [names[0]!]: "reuse", [names[1]!]: "build", [names[2]!]: "reuse", [names[3]!]: "pending" });
    const third = await runImgb(["build", "--progress", "json", "--metadata-file", "meta.json"], { cwd: dir, env });
    expect(third.code).toBe(0);
    expect(builds()).toBe(6); // left and app, nothing else
    const m3 = meta(dir);
    expect([names.map((n) => m3[n]!.reused)]).toEqual([[true, false, true, false]]);
    expect(m3[names[1]!]!.ref).not.toBe(m1[names[1]!]!.ref);
    const events = third.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "done").map((e) => e.image).sort()).toEqual([...names].sort());

    // --no-reuse builds again; the engine's cache keeps it quick.
    const forced = await runImgb(["build", names[0]!, "--no-reuse"], { cwd: dir, env });
    expect(forced.code).toBe(0);
    expect(builds()).toBe(7);
  }, E2E_TIMEOUT * 2);

  test("examples/stack: the app is built on the base's digest, pulled from the htpasswd registry", async () => {
    const dir = tempDir("imgb-example-");
    cpSync(join(repoRoot, "examples/stack"), dir, { recursive: true });
    const yaml = readFileSync(join(dir, "imgb.yaml"), "utf8").replace(/flavor: podman\n  config:\n    layers: true\n/, `flavor: ${c.flavor}\n  config: ${c.config(c.cli[0]!)}\n`);
    expect(yaml).toContain(`flavor: ${c.flavor}\n`);
    writeFileSync(join(dir, "imgb.yaml"), yaml);
    const env = { IMGB_HOME: tempDir("imgb-home-"), REGISTRY: AUTH_REGISTRY, REGISTRY_PASSWORD: AUTH_PASSWORD, BASE_IMAGE, GIT_SHA: "e2e" };
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env });
    expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
    const app = r.stdout.trim().split("\n").find((l) => l.startsWith(`${AUTH_REGISTRY}/demo/app@`))!;
    const files = await pushedFiles("demo/app", app.slice(app.indexOf("@") + 1), AUTH_REGISTRY, `${AUTH_USER}:${AUTH_PASSWORD}`);
    for (const f of ["opt/demo/layer", "opt/demo/greeting", "opt/demo/VERSION", "usr/local/bin/run.sh"]) expect(files).toContain(f);
  }, E2E_TIMEOUT);

  test("a failure skips dependents, independent images finish, exit 1 with a summary", async () => {
    const { dir, p, env } = diamond(c);
    writeFileSync(join(dir, "left/Dockerfile"), "ARG BASE\nFROM ${BASE}\nCOPY missing.txt /x\n");
    const r = await runImgb(["build", "--progress", "plain", "--jobs", "1"], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${p}-app +skipped`));
    expect(r.stderr).toMatch(new RegExp(`${p}-right +built`));
    expect(r.stderr).toMatch(new RegExp(`${p}-left +failed`));
    expect(r.stderr).toContain(`error: 1 of 4 images failed: ${p}-left; 1 skipped`);
    // References of what did build are still printed.
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
  }, E2E_TIMEOUT * 2);

  test("imgb build IMAGE builds it and what it needs, and prints only its reference", async () => {
    const { dir, p, builds, env } = diamond(c);
    const r = await runImgb(["build", `${p}-left`], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(builds()).toBe(2);
    expect(r.stdout).toMatch(new RegExp(`^${REGISTRY}/${p}-left@sha256:[0-9a-f]{64}\\n$`));
  }, E2E_TIMEOUT);

  test("a base image that changed under the same tag is not reused", async () => {
    const dir = tempDir("imgb-base-");
    const base = `${uniqueRepo("local-base")}:v1`;
    const engine = (...args: string[]) => {
      const p = Bun.spawnSync([...c.cli, ...args], { stdin: "ignore" });
      if (p.exitCode !== 0) throw new Error(`${c.cli.join(" ")} ${args.join(" ")}: ${p.stderr.toString()}`);
    };
    engine("tag", BASE_IMAGE, base);
    writeTree(dir, {
      "imgb.yaml": `image_builder: { flavor: ${c.flavor}, config: ${c.config(c.cli[0]!)} }\nimages:\n  on-base: { context: ., network: none, build_args: { BASE: "${base}" } }\n`,
      Dockerfile: "ARG BASE\nFROM ${BASE}\nCOPY a.txt /a.txt\n",
      "a.txt": "a\n",
      "rebase/Dockerfile": `FROM ${BASE_IMAGE}\nLABEL changed=yes\n`,
    });
    const env = { IMGB_HOME: tempDir("imgb-home-") };
    const out = tempDir("imgb-meta-"); // not in the context: it would change it
    const build = async () => {
      const r = await runImgb(["build", "--progress", "plain", "--metadata-file", join(out, "meta.json")], { cwd: dir, env });
      expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
      return meta(out)["on-base"]!;
    };
    const first = await build();
    expect((await build()).reused).toBe(true);
    engine(c.buildCommand, "-q", "-t", base, join(dir, "rebase")); // same tag, another image
    const third = await build();
    expect(third.reused).toBe(false);
    expect(third.checksum).not.toBe(first.checksum);
    engine("rmi", base);
  }, E2E_TIMEOUT * 2);
});
}
