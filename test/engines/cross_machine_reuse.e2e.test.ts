/**
 * Reuse across machines through the registry (issue #15), against podman and the test
 * registry. Two "machines": each its own IMGB_HOME, its own checkout path and its own podman
 * storage (`root`/`runroot`, vfs), so nothing is shared but the registry. Machine B runs podman
 * through a wrapper that logs every call: zero `build` calls proves the reuse.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, shortTempDir, tempDir, writeTree } from "../helpers/tmp.ts";

const ns = uniqueRepo("xreuse");
const baseRef = `${REGISTRY}/${ns}/busybox:1`;
const IMAGES = ["base", "left", "right", "top"];

const files = (): Record<string, string | Uint8Array> => ({
  "imgb.yaml": `
image_builder:
  flavor: podman
  config: { binary: "\${ENGINE}", root: "\${ROOT}/root", runroot: "\${RUNROOT}", storage_driver: vfs }
container_registry: { uri: ${REGISTRY}/${ns} }
images:
  base: { context: base, tags: [v1] }
  left: { context: left, build_args: { BASE: "\${images.base.ref}" } }
  right: { context: right, build_args: { BASE: "\${images.base.ref}" } }
  top: { context: top, build_args: { LEFT: "\${images.left.ref}", RIGHT: "\${images.right.ref}" } }
`,
  "base/Dockerfile": `FROM ${baseRef}\nCOPY b.txt /b.txt\n`,
  "base/b.txt": "base\n",
  "left/Dockerfile": "ARG BASE\nFROM $BASE\nCOPY l.txt /l.txt\n",
  "left/l.txt": "left\n",
  "right/Dockerfile": "ARG BASE\nFROM $BASE\nCOPY r.txt /r.txt\n",
  "right/r.txt": "right\n",
  "top/Dockerfile": "ARG LEFT\nARG RIGHT\nFROM $RIGHT AS right\nFROM $LEFT\nCOPY --from=right /r.txt /from-right.txt\nCOPY t.txt /t.txt\n",
  "top/t.txt": "top\n",
});

interface Machine {
  dir: string;
  home: string;
  root: string;
  /** podman refuses a runroot longer than 50 characters: a short directory of its own. */
  runroot: string;
  log: string;
  engine: string;
}

const runroots: string[] = [];

/**
 * The image a record tag names: the entry of imgb's record index (its embedded manifest checked
 * against that digest here too), or, for a record of the old format, the tag's own manifest.
 */
async function recordedDigest(registry: string, repo: string, tag: string): Promise<string> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, { headers: { Accept: "application/vnd.oci.image.index.v1+json" } });
  if (res.status !== 200) throw new Error(`Registry ${registry} has no record ${repo}:${tag}: HTTP ${res.status}`);
  const doc = (await res.json()) as { artifactType?: string; manifests?: { digest: string; data?: string }[] };
  if (doc.artifactType !== "application/vnd.dev.imgb.record.v1+json") return registryDigest(registry, repo, tag);
  const entry = doc.manifests![0]!;
  expect(`sha256:${new Bun.CryptoHasher("sha256").update(Buffer.from(entry.data!, "base64")).digest("hex")}`).toBe(entry.digest);
  return entry.digest;
}

function machine(name: string, wrapped: boolean): Machine {
  const m = { dir: join(tempDir(`imgb-xreuse-${name}-`), "checkout", name), home: tempDir(`imgb-xreuse-home-${name}-`), root: tempDir(`imgb-xreuse-store-${name}-`), runroot: shortTempDir("ixr-"), log: "", engine: "podman" };
  runroots.push(m.runroot);
  writeTree(m.dir, files());
  if (wrapped) {
    m.log = join(m.root, "calls.log");
    m.engine = join(m.root, "podman-wrapper");
    writeFileSync(m.engine, `#!/bin/sh\necho "$*" >> '${m.log}'\nexec '${Bun.which("podman")}' "$@"\n`);
    chmodSync(m.engine, 0o755);
  }
  return m;
}

type Meta = Record<string, { ref: string; digest: string | null; checksum: string; reused: boolean }>;

const env = (m: Machine) => ({ IMGB_HOME: m.home, ENGINE: m.engine, ROOT: m.root, RUNROOT: m.runroot });

async function build(m: Machine, ...extra: string[]): Promise<{ meta: Meta; stderr: string }> {
  const metaFile = join(m.home, "meta.json");
  const r = await runImgb(["build", "--progress", "plain", "--metadata-file", metaFile, ...extra], { cwd: m.dir, env: env(m) });
  if (r.code !== 0) throw new Error(`imgb build failed (${r.code}):\n${r.stderr}`);
  return { meta: JSON.parse(readFileSync(metaFile, "utf8")) as Meta, stderr: r.stderr };
}

const builds = (m: Machine) => (existsSync(m.log) ? readFileSync(m.log, "utf8").split("\n").filter((l) => /^(build|bud)\b/.test(l) || / build /.test(` ${l} `)) : []);

const ready = await requireEngine("podman", "registry");

describe.skipIf(!ready)("reuse across machines through the registry (podman, two stores)", () => {
  // Made in beforeAll, not at collection: a run filtered to other suites leaves nothing behind.
  let a: Machine;
  let b: Machine;
  let metaA: Meta;

  beforeAll(async () => {
    a = machine("a", false);
    b = machine("b", true);
    await exec(["podman", "push", "--tls-verify=false", BASE_IMAGE, baseRef]);
  }, E2E_TIMEOUT);
  afterAll(async () => {
    // vfs keeps no mounts: each store is plain files, removed with the temp dirs.
    cleanupTempDirs();
    for (const d of runroots) rmSync(d, { recursive: true, force: true });
  }, E2E_TIMEOUT);

  test("A builds and records; B (fresh home, other path, other store, other binary) reuses all 4 with zero engine builds", async () => {
    metaA = (await build(a)).meta;
    for (const n of IMAGES) {
      expect(metaA[n]!.reused).toBe(false);
      const tag = `imgb-${metaA[n]!.checksum.slice(7)}`;
      expect(await recordedDigest(REGISTRY, `${ns}/${n}`, tag)).toBe(metaA[n]!.digest!); // the record names the pushed image
    }

    // Before building, print says where reuse would come from.
    const printed = await runImgb(["print"], { cwd: b.dir, env: env(b) });
    expect(printed.code).toBe(0);
    const plan = JSON.parse(printed.stdout).plan as { image: string; decision: string; reuseFrom?: string; checksum: string | null }[];
    expect(plan.find((p) => p.image === "base")).toMatchObject({ decision: "reuse", reuseFrom: "registry", checksum: metaA.base!.checksum });

    const { meta: metaB } = await build(b);
    for (const n of IMAGES) {
      expect(metaB[n]!.checksum).toBe(metaA[n]!.checksum); // machine-independent
      expect(metaB[n]!.reused).toBe(true);
      expect(metaB[n]!.digest).toBe(metaA[n]!.digest);
    }
    expect(builds(b)).toEqual([]);
    // The requested tags point at A's digests.
    expect(await registryDigest(REGISTRY, `${ns}/base`, "v1")).toBe(metaA.base!.digest!);
    expect(await registryDigest(REGISTRY, `${ns}/top`, "latest")).toBe(metaA.top!.digest!);
  }, E2E_TIMEOUT * 2);

  test("one file changed on B: exactly the affected images are rebuilt", async () => {
    writeFileSync(join(b.dir, "left/l.txt"), "left, changed on B\n");
    writeFileSync(b.log, "");
    const { meta } = await build(b);
    expect(IMAGES.filter((n) => !meta[n]!.reused)).toEqual(["left", "top"]);
    expect(builds(b).length).toBe(2);
    expect(meta.right!.digest).toBe(metaA.right!.digest);
  }, E2E_TIMEOUT * 2);

  test("a forged record tag (pointing at another image) is detected: warning, rebuild, never the wrong image", async () => {
    const c = machine("c", true);
    // Point right's record tag at base's manifest (which carries base's checksum label).
    const repo = `${ns}/right`;
    const baseManifest = await fetch(`http://${REGISTRY}/v2/${ns}/base/manifests/${metaA.base!.digest}`, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" } });
    const type = baseManifest.headers.get("content-type")!;
    const bytes = new Uint8Array(await baseManifest.arrayBuffer());
    // Blobs must exist in the target repository for the PUT: mount them from base.
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { config: { digest: string }; layers: { digest: string }[] };
    for (const d of [doc.config.digest, ...doc.layers.map((l) => l.digest)]) {
      await fetch(`http://${REGISTRY}/v2/${repo}/blobs/uploads/?mount=${d}&from=${ns}/base`, { method: "POST" });
    }
    const tag = `imgb-${metaA.right!.checksum.slice(7)}`;
    const put = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, { method: "PUT", headers: { "Content-Type": type }, body: bytes });
    expect(put.status).toBe(201);

    const { meta, stderr } = await build(c);
    expect(stderr).toContain("registry record");
    expect(stderr).toContain("ignored, building");
    expect(meta.right!.digest).not.toBe(metaA.base!.digest);
    // right is rebuilt; top too, since it is built FROM right's (new) digest; the others are reused.
    expect(IMAGES.filter((n) => !meta[n]!.reused)).toEqual(["right", "top"]);
    expect(builds(c).length).toBe(2);
    // The rebuild wrote an honest record over the forged one.
    expect(await recordedDigest(REGISTRY, repo, tag)).toBe(meta.right!.digest!);
  }, E2E_TIMEOUT * 2);

  test("imgb reuse list shows the records; prune deletes only the orphaned ones", async () => {
    const listed = await runImgb(["reuse", "list", "--json", "left"], { cwd: b.dir, env: env(b) });
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as { repository: string; tag: string; digest: string; otherTags: string[] }[];
    const left = rows.filter((r) => r.repository.endsWith("/left"));
    // A's build and B's changed one; machine C (A's files) moved `latest` back to A's, so B's is
    // kept only by its record.
    expect(left.length).toBe(2);
    const live = left.find((r) => r.otherTags.includes("latest"))!;
    expect(live.digest).toBe(await registryDigest(REGISTRY, `${ns}/left`, "latest"));
    const orphan = left.find((r) => r.otherTags.length === 0)!;
    expect(orphan.digest).not.toBe(live.digest);
    const pruned = await runImgb(["reuse", "prune", "left"], { cwd: b.dir, env: env(b) });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain(`deleted ${orphan.repository}@${orphan.digest}`);
    expect(pruned.stderr).toContain("kept");
    // `left` means left and what it is built from (base): base's record is tagged v1 too, so kept.
    const after = JSON.parse((await runImgb(["reuse", "list", "--json", "left"], { cwd: b.dir, env: env(b) })).stdout) as { repository: string; digest: string }[];
    expect(after.filter((r) => r.repository.endsWith("/left")).map((r) => r.digest)).toEqual([live.digest]);
    expect(after.some((r) => r.repository.endsWith("/base"))).toBe(true);
  }, E2E_TIMEOUT);
});


describe.skipIf(!(await requireEngine("registry")))("two machines building the same checksum at once (oci flavor)", () => {
  afterAll(cleanupTempDirs);

  test("both succeed, and the record points at the (reproducible) image", async () => {
    const repoNs = uniqueRepo("xreuse-race");
    const make = (name: string) => {
      const dir = join(tempDir(`imgb-race-${name}-`), name);
      writeTree(dir, {
        "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${REGISTRY}/${repoNs} }\nimages:\n  app: { dockerfile_inline: "FROM scratch\\nCOPY a.txt /a.txt\\n", context: . }\n`,
        "a.txt": "same on both\n",
      });
      return { dir, home: tempDir(`imgb-race-home-${name}-`) };
    };
    const [x, y] = [make("x"), make("y")];
    const go = (m: { dir: string; home: string }) => runImgb(["build", "--progress", "plain", "--metadata-file", join(m.home, "m.json")], { cwd: m.dir, env: { IMGB_HOME: m.home } });
    const [rx, ry] = await Promise.all([go(x), go(y)]);
    expect(rx.code, rx.stderr).toBe(0);
    expect(ry.code, ry.stderr).toBe(0);
    const mx = JSON.parse(readFileSync(join(x.home, "m.json"), "utf8")).app as { digest: string; checksum: string };
    const my = JSON.parse(readFileSync(join(y.home, "m.json"), "utf8")).app as { digest: string; checksum: string };
    expect(my.checksum).toBe(mx.checksum);
    expect(my.digest).toBe(mx.digest);
    expect(await recordedDigest(REGISTRY, `${repoNs}/app`, `imgb-${mx.checksum.slice(7)}`)).toBe(mx.digest);
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("auth-registry")))("registry reuse through a registry that needs a login (oci flavor)", () => {
  afterAll(cleanupTempDirs);

  test("the lookup and the record use the stack's credentials (token flow); the password shows nowhere", async () => {
    const repoNs = uniqueRepo("xreuse-auth");
    const make = (name: string) => {
      const dir = join(tempDir(`imgb-auth-${name}-`), name);
      writeTree(dir, {
        "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${AUTH_REGISTRY}/${repoNs}, credentials: { username: ${AUTH_USER}, password_env: REG_PASSWORD } }\nimages:\n  app: { dockerfile_inline: "FROM scratch\\nCOPY a.txt /a.txt\\n", context: . , tags: [v1, v2] }\n`,
        "a.txt": "same on both\n",
      });
      return { dir, home: tempDir(`imgb-auth-home-${name}-`) };
    };
    const go = (m: { dir: string; home: string }) => runImgb(["build", "--progress", "plain", "--metadata-file", join(m.home, "m.json")], { cwd: m.dir, env: { IMGB_HOME: m.home, REG_PASSWORD: AUTH_PASSWORD } });
    const x = make("x");
    const rx = await go(x);
    expect(rx.code, rx.stderr).toBe(0);
    const y = make("y");
    const ry = await go(y);
    expect(ry.code, ry.stderr).toBe(0);
    const mx = JSON.parse(readFileSync(join(x.home, "m.json"), "utf8")).app as { digest: string };
    const my = JSON.parse(readFileSync(join(y.home, "m.json"), "utf8")).app as { digest: string; reused: boolean };
    expect(my.reused).toBe(true);
    expect(my.digest).toBe(mx.digest);
    expect(ry.stderr).not.toContain(AUTH_PASSWORD);
    const auth = { user: AUTH_USER, password: AUTH_PASSWORD };
    expect(await registryDigest(AUTH_REGISTRY, `${repoNs}/app`, "v2", auth)).toBe(mx.digest);
  }, E2E_TIMEOUT);
});
